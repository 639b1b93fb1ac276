#include "store/opening_store.h"

namespace inferd::store {

OpeningStore::OpeningStore(Open open) {
  opened_ = std::async(std::launch::async, [this, open = std::move(open)]() -> base::Status {
              auto store = open();
              if (!store.ok()) return store.status();
              store_ = std::move(store).value();
              return base::Status::Ok();
            }).share();
}

base::Status OpeningStore::Wait() { return opened_.get(); }

base::Status OpeningStore::PutVersion(const VersionRecord& record) {
  RETURN_IF_ERROR(Wait());
  return store_->PutVersion(record);
}

base::StatusOr<std::vector<VersionRecord>> OpeningStore::Versions(const std::string& model) {
  RETURN_IF_ERROR(Wait());
  return store_->Versions(model);
}

std::string OpeningStore::Describe() const {
  return opened_.get().ok() ? store_->Describe() : "(not open)";
}

}  // namespace inferd::store
