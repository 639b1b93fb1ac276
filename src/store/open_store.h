// Opening the state store a --state value names: a directory (SQLite, sqlite_store.h), or a
// PostgreSQL URL shared by replicas (postgres://... or postgresql://..., postgres_store.h, loaded
// as a module: postgres_module.h).
// Thread-safety: pure functions.
#pragma once

#include <memory>
#include <string>

#include "store/state_store.h"

namespace inferd::store {

// Whether `where` names a PostgreSQL database rather than a directory.
bool IsPostgresUrl(const std::string& where);

// Opens (or creates) the store. Errors: UNAVAILABLE with the reason (the module is missing, the
// server is unreachable, the directory is not writable, ...).
base::StatusOr<std::unique_ptr<StateStore>> OpenStateStore(const std::string& where);

}  // namespace inferd::store
