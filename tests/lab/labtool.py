# SPDX-License-Identifier: GPL-2.0
"""What the lab's Python tools share: a command table, and how they exit."""
import sys


def main(doc, commands, errors):
    """Run the command sys.argv[1] names (commands: name -> function of the
    words after it) and return its exit status; on one of errors, print
    it and return 1; for an unknown command, print doc and return 2."""
    fn = commands.get(sys.argv[1]) if len(sys.argv) > 1 else None
    if fn is None:
        print(doc, file=sys.stderr)
        return 2
    try:
        return fn(*sys.argv[2:])
    except errors as e:
        print("error: %s" % e)
        return 1
