from fivegbench.cli import entry

entry()
