"""The stepper and the exact hit sampling (``kernel``), set-up (``simulate``) and the per-probe
reference engine used to prove the fast one (``reference``)."""
