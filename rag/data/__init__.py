"""Data shipped with the package: the seeds QA set, labelled support pairs, eval gates."""
