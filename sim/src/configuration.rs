//! One EC3 configuration, `GET …/ec3/configurations/{id}`, in either form, by its id's suffix.

use serde_json::{Value, json};

use crate::http::{Response, error, reply};

/// The iModel of an extraction-based configuration whose id names none.
pub const DEFAULT_IMODEL: &str = "imodel-1";

/// The answer for configuration `id` on a simulator at `base`: report-based for `…-report`,
/// extraction-based for `…-ext`, else 404 `ConfigurationNotFound`.
pub fn answer(base: &str, id: &str) -> Response {
    let configuration = if let Some(stem) = id.strip_suffix("-report") {
        report_based(base, id, stem)
    } else if let Some(stem) = id.strip_suffix("-ext") {
        extraction_based(base, id, stem)
    } else {
        let message = "Requested EC3 Configuration is not available.";
        return error(
            404,
            "ConfigurationNotFound",
            message,
            Some("configurationId"),
        );
    };
    reply(200, json!({ "configuration": configuration }))
}

/// The fields both forms share, with `labels` and `_links`.
fn common(id: &str, display_name: String, labels: Vec<Value>, links: Value) -> Value {
    json!({
        "id": id,
        "displayName": display_name,
        "description": format!("Simulated EC3 configuration {id}"),
        "createdOn": "2026-01-01T00:00:00Z",
        "createdBy": "sim-user",
        "modifiedOn": "2026-02-01T00:00:00Z",
        "modifiedBy": "sim-user",
        "labels": labels,
        "_links": links,
    })
}

/// Labels that read columns of a report table, and a link to the report.
fn report_based(base: &str, id: &str, stem: &str) -> Value {
    let label = |name: &str, table: &str| {
        json!({
            "name": name,
            "reportTable": table,
            "elementNameColumn": "UserLabel",
            "elementQuantityColumn": "Volume",
            "materials": [{ "nameColumn": "Material" }],
        })
    };
    let labels = vec![label("Walls", "Walls"), label("Slabs", "Slabs")];
    let href = format!("{base}/insights/reporting/reports/report-{stem}");
    let links = json!({ "report": { "href": href } });
    common(id, format!("Report {stem}"), labels, links)
}

/// Three labels over two distinct mappings (`{mstem}-m1` twice), and links to the iTwin and
/// (unless the stem starts `nolink`) the iModel.
fn extraction_based(base: &str, id: &str, stem: &str) -> Value {
    let (imodel, mapping_stem) = stem.split_once('.').unwrap_or((DEFAULT_IMODEL, stem));
    let label = |name: &str, mapping: &str, group: &str| {
        json!({
            "name": name,
            "mappingId": format!("{mapping_stem}-{mapping}"),
            "groupName": group,
            "elementNameColumn": "UserLabel",
            "elementQuantityColumn": "Volume",
            "materials": [{ "nameColumn": "Material" }],
        })
    };
    let labels = vec![
        label("Walls", "m1", "Walls"),
        label("Slabs", "m2", "Slabs"),
        label("Beams", "m1", "Beams"),
    ];
    let mut links = json!({ "iTwin": { "href": format!("{base}/itwins/itwin-1") } });
    if !stem.starts_with("nolink") {
        links["iModel"] = json!({ "href": format!("{base}/imodels/{imodel}") });
    }
    common(id, format!("Extraction {stem}"), labels, links)
}
