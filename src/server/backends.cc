#include "server/backends.h"

#include "backends/forest/forest_backend.h"

namespace inferd::server {

base::Status RegisterBackends(const BackendOptions& options, backend::BackendRegistry* registry) {
  backends::forest::ForestBackendOptions forest_options;
  forest_options.threads = options.threads;
  ASSIGN_OR_RETURN(auto forest, backends::forest::ForestBackend::Create(forest_options));
  registry->Register(std::move(forest));
  return base::Status::Ok();
}

}  // namespace inferd::server
