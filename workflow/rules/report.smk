# Stage 3: cleaned data + figures + text -> the bilingual executive summary (HTML previews and PDFs).
# Outputs are flagged update(): a failed render (say, an unknown variable in a text file) restores the
# last good PDFs instead of deleting them.


rule compute_variables:
    input:
        spec="templates/variables.yaml",
        data=[f for d in DATASETS for f in clean_outputs(d)],
        code=code_files("report/variables.py"),
    output:
        json=update("results/report/variables.json"),
    log:
        "results/logs/compute_variables.log",
    conda:
        "../../environment.yml"
    message:
        "Look up every number the narrative may use in the cleaned data"
    shell:
        "python workflow/scripts/compute_variables.py --spec {input.spec} --data-dir results/data"
        " --json {output.json} > {log} 2>&1 || (tail -n 5 {log} >&2; exit 1)"


rule describe_changes:
    input:
        metrics=[f"results/data/{d}_metrics.csv" for d in DATASETS],
        raw=[f for d in DATASETS for f in raw_files(d)] + CODE_FILES + [f"{RAW}/discrepancy_register.csv"],
        config="config/config.yaml",
        latest=latest_edition_manifest,
        code=code_files("editions.py"),
    output:
        json=update("results/report/changes.json"),
    log:
        "results/logs/describe_changes.log",
    conda:
        "../../environment.yml"
    params:
        latest=lambda wildcards, input: f"--latest {input.latest}" if input.latest else "",
    message:
        "List the data values and source files that changed since the latest published edition"
    shell:
        "python workflow/scripts/describe_changes.py --data-dir results/data --out {output.json} {params.latest}"
        " > {log} 2>&1 || (tail -n 5 {log} >&2; exit 1)"


# One job writes the three PDFs: first the list of variables and of the claims the text files make (each
# claim's condition evaluated; the languages' text files checked to match), then the two editions laid out side
# by side in processes it forks (one per thread, so no module is imported twice), then the bilingual PDF joined
# from them (critmet.report.merge, a byte-level join of critmet.report.pdfjoin: pages, one bookmark tree and
# one tagged structure tree per language, metadata). Separate jobs cost a Snakemake job's overhead each and
# laid the bilingual join after both editions.
rule render_report:
    input:
        unpack(lambda wildcards: report_inputs(LANGS)),
        listed=TEXT_FILES,  # every text file, the glossaries too: the claims and the languages' match
    output:
        md=update("results/report/variables.md"),
        pdf=update(expand("results/report/executive_summary_{lang}.pdf", lang=LANGS)),
        html=update(expand("results/report/executive_summary_{lang}.html", lang=LANGS)),
        bilingual=update("results/report/executive_summary.pdf"),
    log:
        "results/logs/render_report.log",
    conda:
        "../../environment.yml"
    threads: len(LANGS)
    params:
        langs=" ".join(LANGS),
    message:
        "Render the {params.langs} editions of the executive summary (HTML previews and PDFs) and join them"
        " into the bilingual PDF"
    shell:
        "python workflow/scripts/render_report.py --config config/config.yaml --langs {params.langs}"
        " --variables {input.variables} --changes {input.changes} --out results/report"
        " --bilingual {output.bilingual} --jobs {threads} --cache results/.cache/pages --list {output.md}"
        " > {log} 2>&1 || (tail -n 5 {log} >&2; exit 1)"


rule report:
    input:
        rules.render_report.output.md,
        rules.render_report.output.pdf,
        rules.render_report.output.bilingual,


# `make preview` (critmet.preview) brings these up to date before it renders the HTML in its own process:
# only the jobs a save touches run, and never a PDF.
rule preview_inputs:
    input:
        **{
            k: v
            for k, v in report_inputs(LANGS).items()
            if k in ("variables", "changes", "checks", "figures")
        },
