# Executive summary of the Ga/Mg supply-chain survey: raw tables -> cleaned data -> figures -> bilingual PDF.
# A thin entry point: the rules live in workflow/rules/, one file per stage, in the order data flows.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/clean.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        rules.audit_data.output,
        rules.report.input,
        rules.figures.input,  # every figure output, the PNG previews too when config asks for them
