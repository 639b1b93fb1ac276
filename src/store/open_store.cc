#include "store/open_store.h"

#include "base/file.h"
#include "store/postgres_module.h"
#include "store/sqlite_store.h"

namespace inferd::store {

bool IsPostgresUrl(const std::string& where) {
  return where.starts_with("postgres://") || where.starts_with("postgresql://");
}

base::StatusOr<std::unique_ptr<StateStore>> OpenStateStore(const std::string& where) {
  if (!IsPostgresUrl(where)) {
    ASSIGN_OR_RETURN(auto s, SqliteStore::Open(where));
    return std::unique_ptr<StateStore>(std::move(s));
  }
  // (Never unloaded: the store's code lives in it.)
  ASSIGN_OR_RETURN(void* entry, base::ModuleSymbol(kPostgresModuleFile, kPostgresModuleSymbol,
                                                   "a PostgreSQL state store"));
  char error[1024] = {0};
  StateStore* store =
      reinterpret_cast<decltype(&inferd_postgres_open)>(entry)(where.c_str(), error, sizeof error);
  if (store == nullptr) return base::Unavailable(error);
  return std::unique_ptr<StateStore>(store);
}

}  // namespace inferd::store
