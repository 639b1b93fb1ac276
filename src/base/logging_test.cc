#include "base/logging.h"

#include <gtest/gtest.h>

namespace inferd::base {
namespace {

TEST(RedactSecretsTest, MasksCredentialsAndKeepsTheRest) {
  const std::string key = "ik_Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWo";
  const std::string jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ";
  EXPECT_EQ(RedactSecrets("request with key " + key + " failed"),
            "request with key ik_[redacted] failed");
  EXPECT_EQ(RedactSecrets("token " + jwt), "token [redacted jwt]");
  EXPECT_EQ(RedactSecrets("Authorization: Bearer abc.def-ghi"), "Authorization: Bearer [redacted]");
  EXPECT_EQ(RedactSecrets("authorization: Basic dXNlcjpwYXNz"), "authorization: Basic [redacted]");
  EXPECT_EQ(RedactSecrets("X-API-Key: secret123, next"), "X-API-Key: [redacted], next");
  EXPECT_EQ(RedactSecrets("webhook http://user:hunter2@hooks.example/x failed"),
            "webhook http://user:[redacted]@hooks.example/x failed");
  EXPECT_EQ(RedactSecrets("GET /x?token=abcdef&y=1"), "GET /x?token=[redacted]&y=1");
  // Ordinary text is untouched.
  for (std::string s : {"model 'm' version 3 loaded in 12 ms", "http://127.0.0.1:8000/v2",
                        "likely_failure eyJ is short", "ik_short", "sk_ik_not_a_key_here_at_all"}) {
    EXPECT_EQ(RedactSecrets(s), s);
  }
}

}  // namespace
}  // namespace inferd::base
