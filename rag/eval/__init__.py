"""The evaluation suite: QA sets, metrics, the support judge, gates and reports."""
