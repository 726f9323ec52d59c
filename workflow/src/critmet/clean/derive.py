"""Derivations of the clean stage, one function per dataset: `derive_<dataset>(frames, codes) -> [Metric]`.

Each function reads the validated frames, may add derived tables to `frames` (declared in the registry),
and returns the metrics: totals, shares, recycling, CAGRs, concentration. Metric names that equal a
`printed:` id of the metadata are checked against the report.
"""

from __future__ import annotations

import math
from decimal import Decimal

import pandas as pd

from critmet.clean import CheckError, Metric
from critmet.units import cagr, convert, hhi

REPORT_EDITION = "MCS2023"  # the USGS edition the report's printed numbers come from: only its rows are checked
NEW_COUNTRY_SHARE = 5.0  # % : a country not named in the report's pie gets its own slice from this share up


# --------------------------------------------------------------------------------------------- helpers
def stack_metrics(frame: pd.DataFrame, category: str, value: str, unit: str, year: str = "year") -> list[Metric]:
    """value_<CAT>_<year>, total_<year> and share_<CAT>_<year> (percent) of a stacked series."""
    out = []
    for yr, group in frame.groupby(year, sort=True):
        total = group[value].sum(min_count=1)
        if pd.isna(total):
            continue
        out.append(Metric(f"total_{yr}", float(total), unit))
        for _, row in group.iterrows():
            if pd.notna(row[value]):
                out.append(Metric(f"value_{row[category]}_{yr}", float(row[value]), unit))
                out.append(
                    Metric(f"share_{row[category]}_{yr}", 100.0 * row[value] / total if total else math.nan, "%")
                )
    return out


def cagr_metrics(series: dict[int, float], prefix: str, pairs: list[tuple[int, int]]) -> list[Metric]:
    """<prefix>cagr_<from>_<to> for each pair of years present in `series`."""
    out = []
    for start, end in pairs:
        if start in series and end in series and series[start] > 0:
            out.append(Metric(f"{prefix}cagr_{start}_{end}", cagr(series[start], series[end], end - start), "%/yr"))
    return out


def shares_add_up(frame: pd.DataFrame, by: str, share: str, table: str, prefix: str = "sum_") -> list[Metric]:
    """One rule per group: its shares add up to 100, within the rounding of its printed slices
    (half a point per slice). Groups with a slice the report prints without a value are not checked."""
    out = []
    for key, group in frame.groupby(by, sort=False):
        if group[share].isna().any():
            continue
        out.append(
            Metric(
                f"{prefix}{key}",
                float(group[share].sum()),
                "%",
                expected=100.0,
                tolerance=0.5 * len(group) + 1e-9,
                table=table,
                what=f"the shares of {by} {key} in {table}.csv add up to",
                at=({by: key}, share),
            )
        )
    return out


def year_pairs(years: list[int]) -> list[tuple[int, int]]:
    years = sorted(set(years))
    return [(a, b) for i, a in enumerate(years) for b in years[i + 1 :]]


def concentration(prefix: str, shares: pd.Series) -> list[Metric]:
    """Top share and Herfindahl-Hirschman index over the named countries (OTH is not a country)."""
    named = shares.drop(labels=[c for c in ("OTH",) if c in shares.index]).dropna()
    if named.empty:
        return []
    return [
        Metric(f"top_share_{prefix}", float(named.max()), "%"),
        Metric(f"hhi_{prefix}", hhi(named.values), "index"),
    ]


# --------------------------------------------------------------------------------------- material flow
def usgs_series(usgs: pd.DataFrame, series: str, year: int) -> pd.DataFrame:
    """Country rows of one USGS commodity:measure and year (withheld rows dropped), with shares in %."""
    commodity, measure = series.split(":")
    rows = usgs[(usgs["commodity"] == commodity) & (usgs["measure"] == measure) & (usgs["year"] == year)]
    rows = rows[rows["value"].notna()].copy()
    total = rows["value"].sum()
    rows["share_pct"] = 100.0 * rows["value"] / total if total else math.nan
    return rows


def pie_year(spec: pd.Series, usgs: pd.DataFrame) -> int:
    """The year a pie shows: for basis usgs the latest year of its series in the USGS edition in use (so a new
    edition moves the pie to its newest, usually estimated, year), else the year printed under the pie."""
    if spec["basis"] != "usgs":
        return int(spec["year"])
    commodity, measure = spec["usgs_series"].split(":")
    rows = usgs[(usgs["commodity"] == commodity) & (usgs["measure"] == measure) & usgs["value"].notna()]
    return int(rows["year"].max()) if not rows.empty else int(spec["year"])


def _pie_shares(pie: str, spec: pd.Series, printed: pd.DataFrame, usgs: pd.DataFrame) -> pd.DataFrame:
    """The slices a pie draws: from USGS for basis usgs (the report's countries, any new large one, the rest
    as OTH), else the printed shares (slices the report prints without a value are left out)."""
    printed_rows = printed[printed["pie"] == pie]
    if spec["basis"] == "usgs":
        rows = usgs_series(usgs, spec["usgs_series"], pie_year(spec, usgs))
        unit_from = rows["unit"].iloc[0]
        named = [c for c in printed_rows["country"] if c != "OTH"]
        keep = rows["country"].isin(named) | (rows["share_pct"] >= NEW_COUNTRY_SHARE)
        keep &= rows["country"] != "OTH"
        slices = rows[keep][["country", "value", "share_pct"]].copy()
        rest = rows[~keep]
        if not rest.empty:
            slices.loc[len(slices)] = ["OTH", rest["value"].sum(), rest["share_pct"].sum()]
        slices["quantity"] = [convert(v, unit_from, spec["unit"]) for v in slices["value"]]
        slices = slices.drop(columns="value")
        slices["status"] = "reported"
    else:
        slices = printed_rows[printed_rows["share_pct"].notna()][["country", "share_pct"]].copy()
        slices["quantity"] = slices["share_pct"] * spec["total"] / 100.0
        status = printed_rows["status"] if "status" in printed_rows else pd.Series("reported", printed_rows.index)
        slices["status"] = status.reindex(slices.index).fillna("reported")
    slices.insert(0, "pie", pie)
    slices["unit"] = spec["unit"]
    slices["basis"] = spec["basis"]
    others_last = slices["country"].eq("OTH")
    return pd.concat([slices[~others_last].sort_values("share_pct", ascending=False), slices[others_last]])


def derive_material_flow(frames: dict, codes) -> list[Metric]:
    usgs, pies, totals = (
        frames["usgs_mcs2023_world"],
        frames["material_flow_pies"],
        frames["material_flow_totals"],
    )
    checked = usgs[usgs["edition"] == REPORT_EDITION]  # a newer edition is drawn, not checked against the report
    metrics: list[Metric] = []
    # USGS world totals: the sum of the country rows (withheld rows count as nothing)
    for (commodity, measure, year), group in checked.groupby(["commodity", "measure", "year"]):
        metrics.append(
            Metric(f"world_{commodity}_{measure}_{year}", float(group["value"].sum()), group["unit"].iloc[0])
        )
    shares = []
    for _, spec in totals.iterrows():
        pie = spec["pie"]
        if isinstance(spec["usgs_series"], str) and spec["usgs_series"]:
            rows = usgs_series(checked, spec["usgs_series"], int(spec["year"]))
        if isinstance(spec["usgs_series"], str) and spec["usgs_series"] and not rows.empty:
            unit_from = rows["unit"].iloc[0]
            metrics.append(
                Metric(f"usgs_total_{pie}", convert(rows["value"].sum(), unit_from, spec["unit"]), spec["unit"])
            )
            by_country = rows.set_index("country")["share_pct"]
            shown = [c for c in pies[pies["pie"] == pie]["country"] if c != "OTH"]
            for country in shown:
                if country in by_country.index:
                    metrics.append(Metric(f"usgs_share_{pie}_{country}", float(by_country[country]), "%"))
            metrics.append(
                Metric(f"usgs_share_{pie}_OTH", 100.0 - float(by_country.reindex(shown).fillna(0).sum()), "%")
            )
        drawn = _pie_shares(pie, spec, pies, usgs)
        shares.append(drawn)
        total = drawn["quantity"].sum() if spec["basis"] == "usgs" else float(spec["total"])
        metrics.append(Metric(f"total_{pie}", float(total), spec["unit"]))
        metrics.append(Metric(f"year_{pie}", float(pie_year(spec, usgs)), "year"))
        for _, row in drawn.iterrows():
            metrics.append(Metric(f"share_{pie}_{row['country']}", float(row["share_pct"]), "%"))
        metrics.extend(concentration(pie, drawn.set_index("country")["share_pct"]))
    metrics.extend(shares_add_up(pies, "pie", "share_pct", "material_flow_pies"))
    frames["material_flow_shares"] = pd.concat(shares, ignore_index=True)
    return metrics


# ------------------------------------------------------------------------------------ screening, reco
def _pie_share(frames, pie: str, country: str) -> float | None:
    pies = frames["material_flow_pies"]
    row = pies[(pies["pie"] == pie) & (pies["country"] == country)]
    return None if row.empty or pd.isna(row["share_pct"].iloc[0]) else float(row["share_pct"].iloc[0])


SCREENING_PIES = {
    "Ga": ("GA_PRIMARY_2022", "gallium_primary:production", 2022),
    "Mg": ("MG_PRIMARY_2022", "magnesium_metal:production", 2022),
}


def derive_screening(frames: dict, codes) -> list[Metric]:
    screen = frames["mineral_screening"]
    metrics = []
    for _, row in screen.iterrows():
        m = row["mineral"]
        metrics.append(Metric(f"top_share_{m}", float(row["refined_top_country_share_pct"]), "%"))
        metrics.append(Metric(f"japan_share_{m}", float(row["japan_demand_share_pct"]), "%"))
    usgs_table = frames["usgs_mcs2023_world"]
    for mineral, (pie, series, year) in SCREENING_PIES.items():
        usgs = usgs_series(usgs_table[usgs_table["edition"] == REPORT_EDITION], series, year)
        usgs = usgs.set_index("country")["share_pct"]
        if "CN" in usgs.index:
            metrics.append(Metric(f"usgs_share_{mineral}_CN", float(usgs["CN"]), "%"))
        share = _pie_share(frames, pie, "CN")
        if share is not None:
            metrics.append(Metric(f"pie_share_{mineral}_CN", share, "%"))
    metrics.append(Metric("selected_count", float((screen["selected"] == "yes").sum()), "minerals"))
    return metrics


RECO_PIES = {
    "RECO_ALUMINA": "GA_ALUMINA_2021",
    "RECO_ZINC": "GA_ZINC_2021",
    "RECO_GALLIUM": "GA_PRIMARY_2022",
    "RECO_MG_ORE": "MG_ORE_2022",
    "RECO_MAGNESIUM": "MG_PRIMARY_2022",
}


def reco_bars(frames: dict) -> pd.DataFrame:
    """The recommendation bars as drawn: an item that shows a material-flow pie takes China's share from that
    pie as drawn (one value per fact across pages); the other named countries keep their printed shares and
    'others' closes the bar to 100. Items without a pie keep the printed shares."""
    reco, totals = frames["reco_shares"], frames["material_flow_totals"].set_index("pie")
    usgs, pies = frames["usgs_mcs2023_world"], frames["material_flow_pies"]
    rows = []
    for item, group in reco.groupby("item", sort=False):
        group = group.assign(basis="reco_shares")
        pie = RECO_PIES.get(item)
        if pie in totals.index and "CN" in set(group["country"]):
            drawn = _pie_shares(pie, totals.loc[pie], pies, usgs).set_index("country")["share_pct"]
            if "CN" in drawn.index:
                cn = float(drawn["CN"])
                named = group[~group["country"].isin(["CN", "OTH"])]["share_pct"].sum()
                group.loc[group["country"] == "CN", ["share_pct", "basis"]] = [cn, f"material_flow:{pie}"]
                rest = 100.0 - cn - named
                if "OTH" in set(group["country"]) and rest >= 0:
                    group.loc[group["country"] == "OTH", ["share_pct", "basis"]] = [rest, f"material_flow:{pie}"]
                elif rest < 0:  # the named countries no longer fit: scale them into what China leaves
                    scale = (100.0 - cn) / (named + float(group[group["country"] == "OTH"]["share_pct"].sum()))
                    mask = group["country"] != "CN"
                    group.loc[mask, "share_pct"] = group.loc[mask, "share_pct"] * scale
        rows.append(group)
    return pd.concat(rows, ignore_index=True)


def derive_recommendations(frames: dict, codes) -> list[Metric]:
    reco, rates = frames["reco_shares"], frames["recycling_rates"]
    metrics = []
    for _, row in reco.iterrows():
        metrics.append(Metric(f"share_{row['item']}_{row['country']}", float(row["share_pct"]), "%"))
    bars = reco_bars(frames)
    frames["reco_bars"] = bars
    for _, row in bars.iterrows():
        metrics.append(Metric(f"bar_share_{row['item']}_{row['country']}", float(row["share_pct"]), "%"))
    metrics.extend(shares_add_up(reco, "item", "share_pct", "reco_shares"))
    for item, pie in RECO_PIES.items():
        share = _pie_share(frames, pie, "CN")
        if share is not None:
            metrics.append(Metric(f"pie_share_{item}_CN", share, "%"))
    for _, row in rates.iterrows():
        if pd.notna(row["rate_pct"]):
            metrics.append(Metric(f"recycling_{row['mineral']}_{row['region']}", float(row["rate_pct"]), "%"))
    return metrics


# ------------------------------------------------------------------------------------------------ risk
def derive_risk(frames: dict, codes) -> list[Metric]:
    risk = frames["risk_profile"]
    return [
        Metric(f"risk_{r['mineral']}_{r['axis_no']}", float(r["share_pct"]), "%")
        for _, r in risk.iterrows()
        if pd.notna(r["share_pct"])
    ]


# ------------------------------------------------------------------------------------------------- LCA
def derive_lca(frames: dict, codes) -> list[Metric]:
    totals, steps = frames["lca_totals"], frames["lca_steps"]
    metrics = []
    for _, row in totals.iterrows():
        route, total = row["route"], float(row["total_kg_co2_per_kg"])
        allocated = float(steps[steps["route"] == route]["value_kg_co2_per_kg"].sum())
        if abs(allocated - total) > 0.01:
            raise CheckError(
                "lca_steps",
                f"the steps of {route} add up to {allocated:g} kg-CO2/kg, not the route's total of {total:g} "
                "in lca_totals.csv",
                expected="step values that add up to the total (within 0.01)",
            )
        for prefix in ("total", "headline", "callout"):
            metrics.append(Metric(f"{prefix}_{route}", total, "kg-CO2/kg"))
        metrics.append(Metric(f"allocated_{route}", allocated, "kg-CO2/kg"))
    return metrics


# ---------------------------------------------------------------------------------------------- policy
def derive_policy(frames: dict, codes) -> list[Metric]:
    minerals, targets, funnel, events = (
        frames[k] for k in ("critical_minerals", "policy_targets", "mineral_funnel", "policy_events")
    )
    metrics = [Metric(f"count_{j}", float(n), "minerals") for j, n in minerals.groupby("jurisdiction").size().items()]
    for _, row in targets.iterrows():
        if pd.notna(row["value_pct"]):
            metrics.append(Metric(f"value_{row['jurisdiction']}_{row['target']}", float(row["value_pct"]), "%"))
        if pd.notna(row["year"]):
            metrics.append(Metric(f"year_{row['jurisdiction']}_{row['target']}", float(row["year"]), "year"))
    for _, row in funnel.iterrows():
        listed = [m for m in row["minerals"].split("|") if m] if isinstance(row["minerals"], str) else []
        count = float(row["count"]) if pd.notna(row["count"]) else float(len(listed))
        metrics.append(Metric(f"count_{row['step']}", count, "minerals"))
        if listed and pd.notna(row["count"]) and len(listed) != int(row["count"]):
            raise CheckError(
                "mineral_funnel",
                f"step {row['step']} lists {len(listed)} minerals but counts {row['count']}",
                expected="a count equal to the minerals listed",
            )
    screened = funnel[funnel["step"] == "FS_SCREEN2"]["count"]
    if not screened.empty:  # page 3 states how many minerals the policy review kept
        metrics.append(Metric("selected_count_p3", float(screened.iloc[0]), "minerals"))
    dated = events[(events["kind"] == "event") & events["date"].notna()]
    metrics += [Metric(f"events_{j}", float(n), "events") for j, n in dated.groupby("jurisdiction").size().items()]
    return metrics


# ------------------------------------------------------------------------------------------ tech trends
def derive_tech_trends(frames: dict, codes) -> list[Metric]:
    projects, shares = frames["tech_projects"], frames["tech_stage_shares"]
    metrics = [
        Metric(f"projects_{r['region']}_{r['mineral']}", float(r["projects"]), "projects")
        for _, r in projects.iterrows()
    ]
    for _, r in shares.iterrows():
        if pd.notna(r["share_pct"]):
            metrics.append(Metric(f"share_{r['region']}_{r['mineral']}_{r['stage']}", float(r["share_pct"]), "%"))
    if "status" in shares:  # the printed total of the shares whose stage assignment is an estimate
        estimated = shares[shares["status"].eq("estimated")]
        for (region, mineral), group in estimated.groupby(["region", "mineral"]):
            metrics.append(Metric(f"share_{region}_{mineral}_estimated_sum", float(group["share_pct"].sum()), "%"))
    keyed = shares.assign(group=shares["region"] + "_" + shares["mineral"])
    metrics.extend(shares_add_up(keyed, "group", "share_pct", "tech_stage_shares"))
    return metrics


# ---------------------------------------------------------------------------------------------- GaN map
def derive_gan_map(frames: dict, codes) -> list[Metric]:
    regions = frames["gan_application_map"]
    return [
        Metric("regions", float((regions["kind"] == "region").sum()), "rows"),
        Metric("axis_power_min_w", float(regions["power_min_w"].min()), "W"),
        Metric("axis_power_max_w", float(regions["power_max_w"].max()), "W"),
        Metric("axis_freq_min_hz", float(regions["freq_min_hz"].min()), "Hz"),
        Metric("axis_freq_max_hz", float(regions["freq_max_hz"].max()), "Hz"),
    ]


# ---------------------------------------------------------------------------------------------- supply
SUPPLY_SUMMARY_YEARS = {
    "ga_supply": (2010, 2020),
    "mg_supply": (2000, 2010, 2018),
}  # the report's summary table


def _supply(frames: dict, table: str, unit: str) -> list[Metric]:
    """Primary supply by country, recycling (a constant share of primary) and demand (primary + recycling).

    Where a year's country split is incomplete, primary supply comes from the chart's demand line:
    primary = demand / (1 + rate); the part no country can be given is kept as `undetermined`.
    """
    supply, line = frames[table], frames[f"{table}_demand"].set_index("year")
    value, demand_col = f"value_{unit}", f"demand_{unit}"
    metrics: list[Metric] = []
    series = []
    for year, group in supply.groupby("year", sort=True):
        rate = float(line.loc[year, "recycling_rate_pct"]) / 100.0 if year in line.index else None
        if rate is None:
            raise CheckError(f"{table}_demand", f"no recycling rate for {year}", expected=f"a row for {year}")
        known = float(group[value].sum())
        complete = bool(group[value].notna().all())
        printed_demand = line.loc[year, demand_col] if year in line.index else math.nan
        if complete:
            primary = known
            if pd.notna(printed_demand):
                metrics.append(
                    Metric(
                        f"demand_line_{year}",
                        primary * (1 + rate),
                        unit,
                        expected=float(printed_demand),
                        tolerance=0.5 + 0.5 * (1 + rate),
                        table=f"{table}_demand",
                        what=f"{year}: primary supply x (1 + recycling rate) against the demand line",
                        kind="fidelity",
                        at=({"year": year}, demand_col),
                    )
                )
        elif pd.notna(printed_demand):
            primary = float(printed_demand) / (1 + rate)
        else:
            raise CheckError(
                table,
                f"{year} has empty country cells and no demand label to derive its total from",
                expected=f"either every country of {year}, or its demand in {table}_demand.csv",
            )
        metrics += [
            Metric(f"total_{year}", primary, unit),
            Metric(f"recycling_{year}", primary * rate, unit),
            Metric(f"demand_{year}", primary * (1 + rate), unit),
        ]
        for _, row in group.iterrows():
            if pd.notna(row[value]):
                metrics.append(Metric(f"value_{row['country']}_{year}", float(row[value]), unit))
                metrics.append(Metric(f"share_{row['country']}_{year}", 100.0 * row[value] / primary, "%"))
        series.append(
            {
                "year": year,
                "primary": primary,
                "assigned": known,
                "undetermined": primary - known,
                "recycling": primary * rate,
                "demand": primary * (1 + rate),
                "complete": complete,
            }
        )
    rates = line["recycling_rate_pct"].unique()
    if len(rates) == 1:
        metrics.append(Metric("recycling_rate_pct", float(rates[0]), "%"))
    frame = pd.DataFrame(series)
    frames[f"{table}_series"] = frame
    primary = dict(zip(frame["year"], frame["primary"], strict=True))
    demand = dict(zip(frame["year"], frame["demand"], strict=True))
    pairs = year_pairs(list(primary))
    metrics += cagr_metrics(primary, "", pairs) + cagr_metrics(demand, "demand_", pairs)
    years = SUPPLY_SUMMARY_YEARS[table]
    by = {m.name: m.value for m in metrics}
    for code in supply["country"].unique():
        for year in years:
            if f"value_{code}_{year}" in by:
                metrics.append(Metric(f"summary_{code}_{year}", by[f"value_{code}_{year}"], unit))
        if f"value_{code}_{years[0]}" in by and f"value_{code}_{years[-1]}" in by:
            metrics.append(
                Metric(f"diff_{code}", by[f"value_{code}_{years[-1]}"] - by[f"value_{code}_{years[0]}"], unit)
            )
    metrics.append(Metric("diff_total", by[f"total_{years[-1]}"] - by[f"total_{years[0]}"], unit))
    return metrics


def derive_ga_supply(frames: dict, codes) -> list[Metric]:
    return _supply(frames, "ga_supply", "t")


def derive_mg_supply(frames: dict, codes) -> list[Metric]:
    return _supply(frames, "mg_supply", "kt")


# ---------------------------------------------------------------------------------------------- demand
# Groups of segments the report quotes CAGRs for (its callouts), by code.
DEMAND_GROUPS = {
    "ga_demand": {"GA6N": ["GA6N_GAAS", "GA6N_GAN_SI", "GA6N_GAN_GAN"], "GA5N": ["GA5N"]},
    "mg_demand": {
        "auto": ["MG_AL_AUTO", "MG_DC_AUTO"],
        "nonauto": ["MG_AL_OTH", "MG_DC_OTH", "MG_STEEL", "MG_REDUCT", "MG_OTHER"],
    },
}
DEMAND_TABLE_YEARS = {"ga_demand": (2020, 2025, 2030, 2035), "mg_demand": (2010, 2020, 2035)}  # table columns
DEMAND_DIFF = (2020, 2035)  # the tables' difference column: 2020 -> 2035


def _decimals(values) -> int:
    """Decimals of the most precise of `values` (as stored: 58.1 -> 1, 158 -> 0)."""
    out = 0
    for v in values:
        exponent = Decimal(repr(round(float(v), 6))).normalize().as_tuple().exponent
        out = max(out, -exponent if isinstance(exponent, int) and exponent < 0 else 0)
    return out


def _demand(frames: dict, table: str, category: str, unit: str) -> list[Metric]:
    """Demand by segment and year. Where a year has parts, the total is their sum and it is checked against the
    year's total in <table>_totals (a consistency rule, within the rounding of both); a year with a total only
    (no part rows) is kept as a total. Parts may be estimates (value_status)."""
    demand, labels = frames[table], frames[f"{table}_totals"].set_index("year")
    value, total_col = f"value_{unit}", f"total_{unit}"
    metrics: list[Metric] = []
    series = []
    values: dict[tuple[str, int], float] = {}
    estimated = demand["value_status"].eq("estimated") if "value_status" in demand else demand[value].isna()
    for year in sorted(set(demand["year"]) | set(labels.index)):
        group = demand[demand["year"] == year]
        known = float(group[value].sum())
        complete = not group.empty and bool(group[value].notna().all())
        label = float(labels.loc[year, total_col]) if year in labels.index else math.nan
        if complete:
            total = known
            if not math.isnan(label):
                tol = 0.5 * 10.0 ** -_decimals([label]) + len(group) * 0.5 * 10.0 ** -_decimals(group[value])
                metrics.append(
                    Metric(
                        f"parts_sum_{year}",
                        known,
                        unit,
                        expected=label,
                        tolerance=tol + 1e-9,
                        table=f"{table}_totals",
                        what=f"the {category}s of {year} in {table}.csv add up to a total that disagrees with "
                        f"{table}_totals.csv",
                        at=({"year": year}, total_col),
                    )
                )
        elif not math.isnan(label):
            total = label
        else:
            raise CheckError(table, f"{year} has empty cells and no total label", expected=f"a total for {year}")
        status = group["status"].iloc[0] if not group.empty else labels.loc[year, "status"]
        metrics.append(Metric(f"total_{year}", total, unit))
        for _, row in group.iterrows():
            if pd.notna(row[value]):
                values[(row[category], year)] = float(row[value])
                metrics += [
                    Metric(f"value_{row[category]}_{year}", float(row[value]), unit),
                    Metric(f"label_{row[category]}_{year}", float(row[value]), unit),
                    Metric(f"share_{row[category]}_{year}", 100.0 * row[value] / total, "%"),
                ]
        series.append(
            {
                "year": year,
                "status": status,
                "total": total,
                "assigned": known,
                "undetermined": total - known,
                "complete": complete,
                "estimated": int(estimated[group.index].sum()) if not group.empty else 0,
            }
        )
    frame = pd.DataFrame(series)
    frames[f"{table}_series"] = frame
    totals = dict(zip(frame["year"], frame["total"], strict=True))
    pairs = year_pairs(list(totals))
    metrics += cagr_metrics(totals, "", pairs)
    table_years = DEMAND_TABLE_YEARS[table]
    for name, members in DEMAND_GROUPS[table].items():
        if members == [name]:  # a group of one segment: its metrics are the segment's own
            group_values = {y: values[(name, y)] for y in totals if (name, y) in values}
            metrics += [Metric(f"{m.name}_{name}", m.value, m.unit) for m in cagr_metrics(group_values, "", pairs)]
            continue
        group_values = {}
        for y in totals:
            others = [c for c in demand[category].unique() if c not in members]
            if all((m, y) in values for m in members):
                group_values[y] = sum(values[(m, y)] for m in members)
            elif all((c, y) in values for c in others):  # the unsplit rest of the year belongs to this group
                group_values[y] = totals[y] - sum(values[(c, y)] for c in others)
        metrics += [Metric(f"value_{name}_{y}", v, unit) for y, v in group_values.items()]
        metrics += [Metric(f"{m.name}_{name}", m.value, m.unit) for m in cagr_metrics(group_values, "", pairs)]
        for y in table_years:
            if y in group_values:
                metrics.append(Metric(f"summary_{name}_{y}", group_values[y], unit))
        if all(y in group_values for y in DEMAND_DIFF):
            metrics.append(Metric(f"diff_{name}", group_values[DEMAND_DIFF[1]] - group_values[DEMAND_DIFF[0]], unit))
    for code in demand[category].unique():
        for y in table_years:
            if (code, y) in values:
                metrics.append(Metric(f"summary_{code}_{y}", values[(code, y)], unit))
        if all((code, y) in values for y in DEMAND_DIFF):
            metrics.append(
                Metric(f"diff_{code}", values[(code, DEMAND_DIFF[1])] - values[(code, DEMAND_DIFF[0])], unit)
            )
    for y in table_years:
        metrics.append(Metric(f"summary_total_{y}", totals[y], unit))
    metrics.append(Metric("diff_total", totals[DEMAND_DIFF[1]] - totals[DEMAND_DIFF[0]], unit))
    return metrics


def derive_ga_demand(frames: dict, codes) -> list[Metric]:
    metrics = _demand(frames, "ga_demand", "segment", "t")
    devices = frames["ga_demand_devices"]
    metrics.append(Metric("device_rows", float(len(devices)), "rows"))
    return metrics


def derive_mg_demand(frames: dict, codes) -> list[Metric]:
    return _demand(frames, "mg_demand", "sector", "kt")
