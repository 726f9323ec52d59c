# Stage 2: cleaned data -> charts, in Japanese and English (SVG for the PDF, PNG previews).
# One job per figure family (workflow/registry.yaml): a Python process with matplotlib costs about a second
# here, so each job draws all figures of its family in every language.

for _family, _spec in FIGURES.items():

    rule:
        name:
            _family
        input:
            data=dataset_files(*_spec["datasets"]),
            meta=[f"{RAW}/{t}.meta.yaml" for d in _spec["datasets"] for t in DATASETS[d]["tables"]],
            codes=CODE_FILES,
            labels=sorted(
                str(p) for lang in LANGS for p in Path(f"templates/text/{lang}").glob("figures*.yaml")
            ),
            style=STYLE_FILES,
            code=code_files(
                "figures/common.py", "figures/style.py", f"figures/{_spec.get('module', _family)}.py"
            ),
        output:
            svg=[update(in_provenance_report(_family, f)) for f in figure_outputs(_family)["svg"]],
            png=update(figure_outputs(_family)["png"]),
            meta=update(figure_outputs(_family)["meta"]),
            caption=update(figure_outputs(_family)["caption"]),
        log:
            f"results/logs/{_family}.log",
        priority: _spec.get("priority", 0)
        conda:
            "../../environment.yml"
        params:
            family=_family,
            module=_spec.get("module", _family),
            figures=" ".join(_spec["figures"]),
            langs=" ".join(LANGS),
            dpi=config["figures"]["png_dpi"] if PNG_PREVIEWS else 0,
        message:
            f"Draw the {_family.removeprefix('plot_').replace('_', ' ')} figures in {', '.join(LANGS)}"
        shell:
            "python workflow/scripts/plot_figures.py --module {params.module} --figures {params.figures}"
            " --langs {params.langs} --dpi {params.dpi} --data-dir results/data --raw-dir data/raw"
            " --text-dir templates/text --out-dir results/figures > {log} 2>&1 || (tail -n 5 {log} >&2; exit 1)"


rule figures:
    input:
        FIGURE_TARGETS,
