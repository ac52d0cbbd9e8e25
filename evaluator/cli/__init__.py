"""The command-line interface: :mod:`.main` builds the app and registers every command; one module
per command group; :mod:`.common` (errors, spinner, model and server options), :mod:`.options`
(option types), :mod:`.output` and :mod:`.tables` (terminal output), :mod:`.help` (help labels).

Nothing is imported here: the ``evaluator`` command starts at :func:`evaluator.cli.main.main`."""
