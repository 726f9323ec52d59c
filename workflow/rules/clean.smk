# Stage 1: raw tables -> validated, cleaned datasets, checked against the values the report prints.
# Outputs are flagged update(): if a job fails, Snakemake restores the last good version of its outputs.
# One job per dataset (a group of related raw tables), so editing one table re-cleans only its dataset
# and redraws only the figures that use it.

for _dataset in DATASETS:

    rule:
        name:
            f"clean_{_dataset}"
        input:
            raw=raw_files(_dataset, with_uses=True),
            codes=CODE_FILES,
            register=f"{RAW}/discrepancy_register.csv",
            usgs=usgs_files(_dataset),
            code=code_files("clean", "importers", "validate.py", "units.py", "io.py", "../../registry.yaml"),
        output:
            tables=update(clean_outputs(_dataset)),
            checks=update(f"results/data/checks/{_dataset}.json"),
        log:
            f"results/logs/clean_{_dataset}.log",
        priority: max((f.get("priority", 0) for f in FIGURES.values() if _dataset in f["datasets"]), default=0)
        conda:
            "../../environment.yml"
        params:
            dataset=_dataset,
            usgs=lambda wildcards, input: (
                f"--usgs-edition {config['usgs']['edition']} --usgs-files {' '.join(input.usgs)}"
                if input.usgs
                else ""
            ),
        message:
            f"Validate and clean the {_dataset} tables, derive their metrics and check them against the report"
        shell:
            "python workflow/scripts/clean_dataset.py --dataset {params.dataset} --register {input.register}"
            " --checks {output.checks} {params.usgs} > {log} 2>&1 || (tail -n 5 {log} >&2; exit 1)"


rule audit_data:
    input:
        checks=expand("results/data/checks/{dataset}.json", dataset=DATASETS),
        tables=[f for d in DATASETS for f in clean_outputs(d)],
        raw=[f for d in DATASETS for f in raw_files(d)],
        register=f"{RAW}/discrepancy_register.csv",
        code=code_files("audit.py"),
    output:
        audit=update("results/data/audit.md"),
        fidelity=update("results/data/fidelity.csv"),
        manifest=update("results/data/manifest.json"),
    log:
        "results/logs/audit_data.log",
    conda:
        "../../environment.yml"
    message:
        "Write the audit of the report's inconsistencies and the manifest of checksums"
    shell:
        "python workflow/scripts/audit_data.py --raw-dir data/raw --data-dir results/data"
        " --audit {output.audit} --manifest {output.manifest} --fidelity {output.fidelity} > {log} 2>&1 || (tail -n 5 {log} >&2; exit 1)"


rule data:
    input:
        rules.audit_data.output,
