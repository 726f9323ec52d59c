"""The report stage: variables from the cleaned data, text files, Jinja templates, WeasyPrint PDFs."""


class ReportError(ValueError):
    """A template, text file or resource problem, with the file and line that cause it."""
