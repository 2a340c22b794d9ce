"""The README's "From C" example is tests/capi/readme_example.c, which make test builds as C11
and runs (ctest capi.readme_example): the two must not drift apart."""
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_readme_c_example_is_the_tested_program():
    readme = open(os.path.join(ROOT, "README.md")).read()
    section = readme.split("## From C", 1)[1]
    block = re.search(r"```c\n(.*?)```", section, re.S)
    assert block, "README's From C section has no ```c block"
    program = open(os.path.join(ROOT, "tests", "capi", "readme_example.c")).read()
    body = program.split("\n", 1)[1].lstrip("\n")  # the file's first line says where it is used
    assert block.group(1) == body
