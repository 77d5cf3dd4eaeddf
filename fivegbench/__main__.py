"""``python -m fivegbench`` and the ``fivegbench`` program.

Importing the command line takes a moment (click, rich, pydantic, numpy): a Ctrl-C meanwhile is
``interrupted`` and exit 3 (error or aborted), like one later, never a traceback.
"""

import signal
import sys


def main() -> None:
    try:
        from fivegbench.cli import entry
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut this line short
        sys.stderr.write("\ninterrupted\n")
        sys.exit(3)  # cli.EXIT_ERROR, which cannot be imported here
    entry()


if __name__ == "__main__":
    main()
