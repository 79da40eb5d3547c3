"""Names of environment variables the command line reads before anything else: a leaf
module (it imports nothing), so `aksi --help` can name them without importing the modules
that use them. Every variable aksi reads is listed in the README's reference table."""

WORKFLOWS = "AKSI_WORKFLOWS"  # engine/definitions/loader.py: the definitions directory
DATABASE_URL = "AKSI_DATABASE_URL"  # engine/store/database.py: the store
