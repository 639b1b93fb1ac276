// Process resource metrics (resident memory, open file descriptors, start time, CPU time) read
// from /proc when scraped.
// Thread-safety: the registered callbacks are thread-safe.
#pragma once

#include "monitoring/metrics.h"

namespace inferd::monitoring {

// Adds process_resident_memory_bytes, process_virtual_memory_bytes, process_open_fds,
// process_start_time_seconds and process_cpu_seconds (gauges) to `registry`.
void RegisterProcessMetrics(MetricsRegistry* registry);

}  // namespace inferd::monitoring
