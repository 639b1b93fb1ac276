// The entry point of libinferd_postgres.so (postgres_module.h).
#include "store/postgres_module.h"

#include <cstring>

#include "store/postgres_store.h"

extern "C" __attribute__((visibility("default"))) inferd::store::StateStore* inferd_postgres_open(
    const char* url, char* error, size_t error_size) {
  auto store = inferd::store::PostgresStore::Open(url);
  if (store.ok()) return std::move(store).value().release();
  if (error_size > 0) {
    std::strncpy(error, store.status().message().c_str(), error_size - 1);
    error[error_size - 1] = '\0';
  }
  return nullptr;
}
