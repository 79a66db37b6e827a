"""A lying worker agent, for the fault tests: `manage.py run_worker` whose result archives
carry a file the app never wrote, so its digest differs from honest workers' (consistently:
what it uploads is what it commits to on chain).

    python -m tests.pools.liar_agent --site URL --pool ADDRESS --dev-account N
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def main(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from worker import results

    honest = results.build_result_archive

    def lying(output_dir, stdout_path, stderr_path, dest):
        (Path(output_dir) / "forged.txt").write_text("Not what the app computed.\n")
        return honest(output_dir, stdout_path, stderr_path, dest)

    results.build_result_archive = lying
    call_command("run_worker", *argv)


if __name__ == "__main__":
    main(sys.argv[1:])
