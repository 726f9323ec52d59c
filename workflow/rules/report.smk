# Stage 3: cleaned data + figures + text -> the bilingual executive summary (HTML previews and PDFs).
# Outputs are flagged update(): a failed render (say, an unknown variable in a text file) restores the
# last good PDFs instead of deleting them.


rule compute_variables:
    message:
        "Look up every number the narrative may use in the cleaned data"
    input:
        spec="templates/variables.yaml",
        data=[f for d in DATASETS for f in clean_outputs(d)],
        code=code_files("report/variables.py"),
    output:
        json=update("results/report/variables.json"),
        md=update("results/report/variables.md"),
    log:
        "results/logs/compute_variables.log",
    shell:
        "python workflow/scripts/compute_variables.py --spec {input.spec} --data-dir results/data"
        " --json {output.json} --md {output.md} > {log} 2>&1"


def report_inputs(langs):
    """What a rendering reads: the variables, the checks (footnotes), the figures and text of its
    languages, templates, stylesheets, page structure, config, the register and the report code."""
    return {
        "variables": rules.compute_variables.output.json,
        "checks": expand("results/data/checks/{dataset}.json", dataset=DATASETS),
        "figures": [f for f in FIGURE_TARGETS if f.endswith(".json") or (f.endswith(".svg") and any(f"/{l}/" in f for l in langs))],
        "text": [f for f in TEXT_FILES if any(f"/{l}/" in f for l in langs)],
        "templates": sorted(str(p) for p in Path("templates").rglob("*.j2")),
        "css": sorted(str(p) for p in Path("templates/css").glob("*.css")),
        "pages": "templates/pages.yaml",
        "config": "config/config.yaml",
        "register": f"{RAW}/discrepancy_register.csv",
        "code": code_files("report"),
    }


rule render_edition:
    message:
        "Render the {wildcards.lang} edition of the executive summary (HTML preview and PDF)"
    input:
        unpack(lambda wildcards: report_inputs([wildcards.lang])),
    output:
        pdf=update("results/report/executive_summary_{lang}.pdf"),
        html=update("results/report/executive_summary_{lang}.html"),
    wildcard_constraints:
        lang="|".join(LANGS),
    log:
        "results/logs/render_edition_{lang}.log",
    shell:
        "python workflow/scripts/render_report.py --config config/config.yaml --lang {wildcards.lang}"
        " --variables {input.variables} --out results/report > {log} 2>&1"


rule render_bilingual:
    message:
        "Render the bilingual executive summary ({params.langs}), one bookmark tree per language"
    input:
        **report_inputs(LANGS),
    output:
        pdf=update("results/report/executive_summary.pdf"),
    params:
        langs=", ".join(LANGS),
    log:
        "results/logs/render_bilingual.log",
    shell:
        "python workflow/scripts/render_report.py --config config/config.yaml --variables {input.variables}"
        " --out {output.pdf} > {log} 2>&1"


rule report:
    input:
        expand(rules.render_edition.output.pdf, lang=LANGS),
        rules.render_bilingual.output.pdf,
