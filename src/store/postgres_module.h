// The PostgreSQL store as a module: libinferd_postgres.so, next to the inferd binary, loaded by
// OpenStateStore (open_store.h) only for --state postgres://..., so that libpq and what it links
// (Kerberos, LDAP) stay out of every other start (a Lambda cold start among them).
#pragma once

#include <cstddef>

namespace inferd::store {
class StateStore;
inline constexpr const char* kPostgresModuleFile = "libinferd_postgres.so";
inline constexpr const char* kPostgresModuleSymbol = "inferd_postgres_open";
}  // namespace inferd::store

// Opens the store at `url` (PostgresStore::Open); on failure returns null with the message in
// `error` (NUL-terminated, truncated to `error_size`). The caller owns the store.
extern "C" inferd::store::StateStore* inferd_postgres_open(const char* url, char* error,
                                                           size_t error_size);
