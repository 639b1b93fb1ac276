#include "api/common/classification.h"

#include <algorithm>

#include "api/common/json_writer.h"

namespace inferd::api {

Classification Classify(const tensor::Tensor& t, int64_t k,
                        const std::vector<std::string>* labels) {
  Classification c;
  c.rows = t.shape().empty() ? 1 : t.shape()[0];
  const int64_t per_row = c.rows == 0 ? 0 : t.element_count() / c.rows;
  c.k = std::min(k, per_row);
  tensor::VisitNumericType(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    auto data = t.data<T>();
    std::vector<int64_t> order(static_cast<size_t>(per_row));
    for (int64_t r = 0; r < c.rows; ++r) {
      const T* row = data.data() + r * per_row;
      for (int64_t i = 0; i < per_row; ++i) order[static_cast<size_t>(i)] = i;
      std::partial_sort(
          order.begin(), order.begin() + c.k, order.end(),
          [row](int64_t a, int64_t b) { return row[a] > row[b] || (row[a] == row[b] && a < b); });
      for (int64_t i = 0; i < c.k; ++i) {
        const int64_t index = order[static_cast<size_t>(i)];
        std::string entry;
        JsonWriter v(&entry);
        if constexpr (std::is_same_v<T, bool>) {
          v.Number(static_cast<int>(row[index]));
        } else {
          v.Number(row[index]);
        }
        entry += ":" + std::to_string(index);
        if (labels != nullptr && index < static_cast<int64_t>(labels->size())) {
          entry += ":" + (*labels)[static_cast<size_t>(index)];
        }
        c.entries.push_back(std::move(entry));
      }
    }
  });
  return c;
}

}  // namespace inferd::api
