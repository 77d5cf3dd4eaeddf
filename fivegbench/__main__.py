from fivegbench.cli import main

main()
