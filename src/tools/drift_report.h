// `inferd drift-report`: the drift and quality statistics of the live monitor, on two datasets —
// a reference (usually the training data) and a current one — as JSON or a self-contained HTML
// page (tables and inline SVG charts), as Evidently's reports are. Every value of both datasets
// counts (the reservoirs hold them all), so the tests are exact two-sample tests.
// Thread-safety: reentrant.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "base/status.h"
#include "monitoring/drift_window.h"

namespace inferd::tools {

struct DriftReportOptions {
  std::filesystem::path reference, current;  // CSV files with a header; required
  std::string label;                         // the label column (both files), optional
  std::vector<std::string> features;         // default: every column but the label
  std::vector<std::string> categorical;
  std::filesystem::path model;  // optional: prediction drift, and quality when there is a label
  const backend::BackendRegistry* backends = nullptr;  // required with `model`
  // The live monitor's defaults, but any number of rows gets a verdict (the datasets are whole).
  monitoring::DriftSettings settings = [] {
    monitoring::DriftSettings s;
    s.min_rows = 1;
    return s;
  }();
};

// The report as JSON: datasets (rows), drift (monitoring::DriftReportToJson) with, per feature,
// the two distributions (bin edges and shares, or category shares), label drift, quality per
// dataset. Errors: as BuildProfile, and INVALID_ARGUMENT when the files' columns differ in name or
// kind.
base::StatusOr<std::string> BuildDriftReport(const DriftReportOptions& options);

// A self-contained HTML page of a report.
std::string RenderDriftReportHtml(const std::string& report_json);

}  // namespace inferd::tools
