#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys

from marketplace import devstate


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")
    from django.core.management import execute_from_command_line

    devstate.prepare()  # a development checkout's var/: its folders and kept secrets
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
