"""The project document: load/save (project_io), crash recovery, hint projects and keys."""
