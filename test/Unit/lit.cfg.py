# -*- Python -*- lit configuration for tesa's GoogleTest unit tests.
import os

import lit.formats

config.name = "tesa-unit"
config.suffixes = []
config.test_source_root = config.tesa_unit_obj_root
config.test_exec_root = config.tesa_unit_obj_root
config.test_format = lit.formats.GoogleTest(".", "Tests")
