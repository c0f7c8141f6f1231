"""The fixed reference transfer (issue #20): see README.md in this folder."""
