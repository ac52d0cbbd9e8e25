"""The read side of the store: the HTML report (:mod:`.html`, over :mod:`.data` and :mod:`.charts`),
a run's status (:mod:`.status`), score trends (:mod:`.trends`), findings new, persisting and
resolved across revisions (:mod:`.lifecycle`), the CI gate (:mod:`.gate`) with its waivers
(:mod:`.waivers`) and baselines (:mod:`.baseline`) and its JUnit and SARIF files
(:mod:`.gate_files`), and a synthetic store to time the report on (:mod:`.synthetic`,
``python -m evaluator.reports.synthetic``).

Nothing is imported here: ``status`` must not pay for the report's charts."""
