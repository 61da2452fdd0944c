# Writes OUT: each of INPUTS (a ,-separated list) as a C++ raw string
# {"file name", R"llmc(...)llmc"}, for runtime/cuda/KernelSources.cpp.
set(text "// Generated from runtime/cuda/kernels by EmbedSources.cmake.\n")
string(REPLACE "," ";" inputs "${INPUTS}")
foreach(input ${inputs})
  file(READ ${input} content)
  get_filename_component(name ${input} NAME)
  string(APPEND text "{\"${name}\", R\"llmc_src(${content})llmc_src\"},\n")
endforeach()
file(WRITE ${OUT} "${text}")
