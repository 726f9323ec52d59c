"""Checks made before any job runs, each failing with one line in one form:

    <file>, line <n>, column|key '<name>': <what is wrong> (value: '<value>'); expected <what was expected>

* `config/config.yaml` against `config/config.schema.yaml` (the file and the key, never the schema);
* `templates/pages.yaml`: page ids, layouts, figures and tables are plain names (no `../`), layouts exist;
* every file of `data/raw/` and every source file that config names resolves inside the project
  (a symbolic link to a file elsewhere is refused);
* every raw table against its schema (critmet.validate), once per content: the result is cached by the
  SHA-256 of the table, its metadata, the code lists and the validator, so a no-op build stays fast
  whatever the size of the data;
* CSV files in `data/raw/` that no rule reads are named (a renamed table is the usual cause).

Run by the build entry point (critmet.build) before Snakemake starts, and again (cached, fast) when
Snakemake parses the workflow, so that `snakemake` run by hand is guarded too.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import yaml

from critmet.io import SafeLoader, load_yaml
from critmet.validate import RawDataError, error_text, raw_tables

CACHE = Path(".snakemake") / "critmet" / "validated.json"
NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


class PreflightError(ValueError):
    """A problem found before the build; the message is one line in the common form."""

    def __init__(self, path, message, line=None, key=None, value=None, expected=None):
        field = f"key '{key}'" if key is not None else None
        super().__init__(error_text(path, message, line=line, field=field, value=value, expected=expected))


# ------------------------------------------------------------------------------------------- YAML lines
def _load_with_lines(path: Path, rel: str) -> tuple[Any, dict[tuple, int]]:
    """The YAML document and the line of every key path ('a', 'b', 0 ...)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise PreflightError(rel, "the file is not UTF-8 text", expected="UTF-8 text") from None
    loader = SafeLoader(text)  # one parse: the node tree for the lines, the document built from it
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise PreflightError(
            rel,
            f"the YAML does not parse: {getattr(exc, 'problem', None) or exc}",
            line=mark.line + 1 if mark else None,
            expected="valid YAML",
        ) from None
    finally:
        loader.dispose()
    lines: dict[tuple, int] = {}

    def walk(n, at: tuple) -> None:
        lines[at] = n.start_mark.line + 1
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                lines[(*at, k.value)] = k.start_mark.line + 1
                walk(v, (*at, k.value))
                lines[(*at, k.value)] = k.start_mark.line + 1
        elif isinstance(n, yaml.SequenceNode):
            for i, v in enumerate(n.value):
                walk(v, (*at, i))

    if node is not None:
        walk(node, ())
    return data, lines


def _line_of(lines: dict[tuple, int], at: tuple) -> int | None:
    while at not in lines and at:
        at = at[:-1]
    return lines.get(at)


# --------------------------------------------------------------------------------------------- config
def check_config(root: Path, rel: str = "config/config.yaml") -> dict:
    import jsonschema

    config, lines = _load_with_lines(root / rel, rel)
    schema = load_yaml(root / "config" / "config.schema.yaml")
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: (list(map(str, e.path)), e.validator))
    if errors:
        err = errors[0]
        at = tuple(err.path)
        key = ".".join(str(p) for p in at) or None
        value = err.instance if not isinstance(err.instance, dict | list) else None
        expected = {
            "required": lambda: f"the keys {err.validator_value}",
            "additionalProperties": lambda: f"only the keys {sorted(err.schema.get('properties', {}))}",
            "enum": lambda: f"one of {err.validator_value}",
            "pattern": lambda: f"text matching {err.validator_value}",
            "type": lambda: f"a value of type {err.validator_value}",
            "minItems": lambda: f"at least {err.validator_value} item(s)",
            "minLength": lambda: "a non-empty text",
        }.get(err.validator, lambda: err.schema.get("description") or "a value the schema allows")()
        message = {
            "required": lambda: "a required key is missing",
            "additionalProperties": lambda: "unknown key",
        }.get(err.validator, lambda: f"not allowed ({err.validator})")()
        if err.validator == "required":
            missing = [k for k in err.validator_value if k not in (err.instance or {})]
            message = f"required key '{missing[0]}' is missing" if missing else message
        if err.validator == "additionalProperties":
            extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
            if extra:
                key = ".".join([*map(str, at), extra[0]])
                at = (*at, extra[0])
        raise PreflightError(rel, message, line=_line_of(lines, at), key=key, value=value, expected=expected)
    for name, path in sorted(config["usgs"]["world_files"].items()):
        at = ("usgs", "world_files", name)
        target = (root / path).resolve()
        if not target.is_relative_to(root.resolve()):
            raise PreflightError(
                rel,
                f"the file is outside the project ({target})",
                line=_line_of(lines, at),
                key=".".join(at),
                value=path,
                expected=f"a path inside {root.resolve()}",
            )
        if not target.is_file():
            raise PreflightError(
                rel,
                "no such file",
                line=_line_of(lines, at),
                key=".".join(at),
                value=path,
                expected="the path of a published USGS world CSV, relative to the project folder",
            )
    return config


# ---------------------------------------------------------------------------------------------- pages
def check_pages(root: Path, rel: str = "templates/pages.yaml") -> None:
    structure, lines = _load_with_lines(root / rel, rel)
    pages = structure.get("pages") if isinstance(structure, dict) else None
    if not isinstance(pages, list):
        raise PreflightError(rel, "no list of pages", key="pages", expected="pages: [{id: ..., layout: ...}, ...]")
    layouts = sorted(p.name.removesuffix(".html.j2") for p in (root / "templates" / "pages").glob("*.html.j2"))
    for i, page in enumerate(pages):
        if not isinstance(page, dict):
            raise PreflightError(rel, "a page is not a mapping", line=_line_of(lines, ("pages", i)))
        for key in ("id", "layout"):
            value = page.get(key)
            if not isinstance(value, str) or not NAME.match(value) or ".." in value:
                raise PreflightError(
                    rel,
                    f"'{key}' of page {i + 1} is not a plain name",
                    line=_line_of(lines, ("pages", i, key)),
                    key=f"pages[{i}].{key}",
                    value=value,
                    expected="letters, digits and '_' only (no '/' or '..')",
                )
        if page["layout"] not in layouts:
            raise PreflightError(
                rel,
                f"page {page['id']}: unknown layout",
                line=_line_of(lines, ("pages", i, "layout")),
                key=f"pages[{i}].layout",
                value=page["layout"],
                expected=f"one of the layouts in templates/pages/ {layouts}",
            )
        for key in ("figures", "tables"):
            for j, value in enumerate(page.get(key) or []):
                if not isinstance(value, str) or not NAME.match(value) or ".." in value:
                    raise PreflightError(
                        rel,
                        f"a {key[:-1]} name of page {page['id']} is not a plain name",
                        line=_line_of(lines, ("pages", i, key, j)),
                        key=f"pages[{i}].{key}[{j}]",
                        value=value,
                        expected="letters, digits and '_' only (no '/' or '..')",
                    )


# ------------------------------------------------------------------------------------------- raw data
def check_inside(root: Path, raw_dir: Path) -> None:
    """Every file of data/raw (tables, metadata, code lists) must resolve inside the project."""
    top = root.resolve()
    for path in sorted(raw_dir.rglob("*")):
        if path.is_symlink() or path.is_file():
            target = path.resolve()
            if not target.is_relative_to(top):
                raise PreflightError(
                    path.relative_to(root),
                    f"a symbolic link to {target}, outside the project",
                    expected=f"a file inside {top} (copy the file into data/raw instead of linking to it)",
                )


def _digest(*paths: Path) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode() + b"\0")
        if path.exists():
            with open(path, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(chunk)
        digest.update(b"\1")
    return digest.hexdigest()


def check_raw(root: Path, raw_dir: Path, out=None) -> None:
    """Validate every raw table not validated before with the same content; name tables no rule reads."""
    from critmet import validate

    check_inside(root, raw_dir)
    code_files = sorted((raw_dir / "codes").glob("*.csv"))
    common = _digest(*code_files, Path(validate.__file__))
    cache_path = root / CACHE
    try:
        cache = json.loads(cache_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cache = {}
    current = {str(p.relative_to(root)): _digest(p, p.with_suffix(".meta.yaml")) + common for p in raw_tables(raw_dir)}
    if all(cache.get(name) == digest for name, digest in current.items()):
        fresh = set(current)
    else:
        fresh = {name for name, digest in current.items() if cache.get(name) == digest}
    if fresh != set(current):
        try:
            validate.validate_all(raw_dir, fresh=lambda p: str(p.relative_to(root)) in fresh)
        except TypeError:  # a validator without the `fresh` argument: validate everything
            validate.validate_all(raw_dir)
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(current, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, cache_path)
    # every table the registry lists must exist with its metadata; a CSV no entry reads is named
    registry = load_yaml(root / "workflow" / "registry.yaml")
    for path in validate.check_registry(raw_dir, registry):
        print(
            f"note: {Path(path).relative_to(root)}: no rule reads this table (it is not listed in "
            "workflow/registry.yaml); a renamed table is the usual cause",
            file=out or sys.stderr,
        )


def preflight(root: str | Path = ".", out=None) -> dict:
    """All checks; returns the config. Raises PreflightError or RawDataError with a one-line message."""
    root = Path(root).resolve()
    config = check_config(root)
    check_pages(root)
    check_raw(root, root / "data" / "raw", out=out)
    return config


def one_line(err: Exception, root: str | Path = ".") -> str:
    """The user's message: paths relative to the project folder."""
    text = str(err)
    prefix = str(Path(root).resolve()) + os.sep
    text = text.replace(prefix, "")
    kind = "invalid raw data" if isinstance(err, RawDataError) else "invalid input"
    return f"{kind}: {text}"


def main(argv: list[str] | None = None) -> int:
    """`python -m critmet.preflight [project folder]`: exit 0 when every check passes, else 1 and one line."""
    args = sys.argv[1:] if argv is None else argv
    root = args[0] if args else "."
    try:
        preflight(root)
    except (PreflightError, RawDataError) as err:
        print(f"error: {one_line(err, root)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
