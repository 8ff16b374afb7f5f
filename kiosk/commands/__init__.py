"""One module a ``kiosk`` subcommand: ``add_arguments(parser)`` and ``run(args)``."""
