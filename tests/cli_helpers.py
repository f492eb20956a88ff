"""Running the command line in-process, for the CLI tests."""
from difflab.cli import main


def run(capsys, *argv):
    """``(exit code, stdout, stderr)`` of ``difflab *argv``; argparse's usage errors included."""
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err
