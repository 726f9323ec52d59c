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


rule render_report:
    message:
        "Render the executive summary in {params.langs} and the bilingual PDF"
    input:
        variables=rules.compute_variables.output.json,
        checks=expand("results/data/checks/{dataset}.json", dataset=DATASETS),
        figures=FIGURE_TARGETS,
        text=TEXT_FILES,
        templates=sorted(str(p) for p in Path("templates").rglob("*.j2")),
        css=sorted(str(p) for p in Path("templates/css").glob("*.css")),
        pages="templates/pages.yaml",
        config="config/config.yaml",
        register=f"{RAW}/discrepancy_register.csv",
        code=code_files("report"),
    output:
        pdfs=update(expand("results/report/executive_summary_{lang}.pdf", lang=LANGS)),
        html=update(expand("results/report/executive_summary_{lang}.html", lang=LANGS)),
        combined=update("results/report/executive_summary.pdf"),
    params:
        langs=", ".join(LANGS),
    log:
        "results/logs/render_report.log",
    shell:
        "python workflow/scripts/render_report.py --config config/config.yaml --out-dir results/report"
        " > {log} 2>&1"
