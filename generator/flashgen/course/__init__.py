"""Reading a course: files, YAML with positions, the model, its schema and checks."""
