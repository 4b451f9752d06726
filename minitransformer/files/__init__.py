"""Users' files, read right or refused clearly, and run folders written safely.

* :mod:`~minitransformer.files.tables`: :func:`read_csv`, the one CSV reader of the heads
  (a byte-order mark accepted, fields of any length, duplicate column names and bytes that are not
  UTF-8 refused naming the file and the line), and :func:`compare_columns` (the columns a model
  was trained with against the ones a file has).
* :mod:`~minitransformer.files.run_folder`: :func:`claim_run_folder`, "check first, write
  after" for a training's output folder, and an OS lock so that one folder belongs to one process.
* :mod:`~minitransformer.files.model_folder`: a model folder is data, not trust:
  :func:`member_path` keeps every file it names inside it, :func:`check_fits_in_memory` refuses a
  configuration too large to allocate.
"""

from minitransformer.files.model_folder import check_fits_in_memory, member_path
from minitransformer.files.run_folder import claim_run_folder, holds_files
from minitransformer.files.tables import CsvFile, compare_columns, read_csv

__all__ = ["CsvFile", "read_csv", "compare_columns", "claim_run_folder", "holds_files", "member_path",
           "check_fits_in_memory"]
