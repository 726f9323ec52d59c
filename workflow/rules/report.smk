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


# The list of variables and of the claims the text files make (each claim's condition evaluated). Its own job, so
# that a text edit does not rewrite variables.json (which would re-render both languages).
rule list_variables:
    input:
        json=rules.compute_variables.output.json,
        text=TEXT_FILES,
        code=code_files("report/claims.py", "report/variables.py"),
    output:
        md=update("results/report/variables.md"),
    log:
        "results/logs/list_variables.log",
    conda:
        "../../environment.yml"
    message:
        "List the variables and check the claims of the text files"
    shell:
        "python workflow/scripts/list_variables.py --json {input.json} --md {output.md} {input.text}"
        " > {log} 2>&1 || (tail -n 5 {log} >&2; exit 1)"


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


rule render_edition:
    input:
        unpack(lambda wildcards: report_inputs([wildcards.lang])),
    output:
        pdf=update("results/report/executive_summary_{lang}.pdf"),
        html=update("results/report/executive_summary_{lang}.html"),
    log:
        "results/logs/render_edition_{lang}.log",
    wildcard_constraints:
        lang="|".join(LANGS),
    conda:
        "../../environment.yml"
    message:
        "Render the {wildcards.lang} edition of the executive summary (HTML preview and PDF)"
    shell:
        "python workflow/scripts/render_report.py --config config/config.yaml --lang {wildcards.lang}"
        " --variables {input.variables} --changes {input.changes} --out results/report"
        " --cache results/.cache/pages/{wildcards.lang} > {log} 2>&1 || (tail -n 5 {log} >&2; exit 1)"


# The bilingual PDF joins the two editions (critmet.report.merge, byte-level join of critmet.report.pdfjoin):
# pages, one bookmark tree and one tagged structure tree per language, metadata. Laying both languages out
# again took as long as both editions; joining them with pypdf took 1.6-2.8 s; the join takes a few tenths.
rule render_bilingual:
    input:
        pdfs=expand("results/report/executive_summary_{lang}.pdf", lang=LANGS),
        code=code_files("report/merge.py"),
    output:
        pdf=update("results/report/executive_summary.pdf"),
    log:
        "results/logs/render_bilingual.log",
    conda:
        "../../environment.yml"
    params:
        langs=" ".join(LANGS),
    message:
        "Join the {params.langs} editions into the bilingual executive summary, one bookmark tree per language"
    shell:
        "python workflow/scripts/merge_editions.py --langs {params.langs} --pdfs {input.pdfs} --out {output.pdf}"
        " > {log} 2>&1 || (tail -n 5 {log} >&2; exit 1)"


rule report:
    input:
        rules.list_variables.output.md,
        expand(rules.render_edition.output.pdf, lang=LANGS),
        rules.render_bilingual.output.pdf,


# `make preview` (critmet.preview) brings these up to date before it renders the HTML in its own process:
# only the jobs a save touches run, and never a PDF.
rule preview_inputs:
    input:
        **{
            k: v
            for k, v in report_inputs(LANGS).items()
            if k in ("variables", "changes", "checks", "figures")
        },
