# Runs every GoogleTest binary under test/unit as a lit suite.
import os

import lit.formats

config.name = "LLMC-Unit"
config.suffixes = []
config.test_exec_root = os.path.join(config.llmc_obj_root, "test", "unit")
config.test_source_root = config.test_exec_root
config.test_format = lit.formats.GoogleTest(".", "Tests")
