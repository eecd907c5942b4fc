"""Lets `python -m scim_doctor` behave exactly like the `scim-doctor` console script."""

from scim_doctor.cli import main

if __name__ == "__main__":
    main()
