#include "tools/chunk_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace inferd::tools {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class ChunkReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string t = (fs::temp_directory_path() / "chunk-reader-XXXXXX").string();
    ASSERT_NE(::mkdtemp(t.data()), nullptr);
    dir_ = t;
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path Write(const std::string& content) {
    fs::path p = dir_ / "in.csv";
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }

  // Every chunk of the file, as (first_line, lines, text).
  std::vector<std::tuple<int64_t, int64_t, std::string>> ReadAll(const fs::path& p,
                                                                 int64_t max_lines,
                                                                 size_t read_bytes) {
    auto reader = ChunkReader::Open({.path = p, .read_bytes = read_bytes});
    EXPECT_TRUE(reader.ok());
    std::vector<std::tuple<int64_t, int64_t, std::string>> out;
    Chunk c;
    int64_t index = 0;
    while (true) {
      auto more = (*reader)->Next(max_lines, &c);
      EXPECT_TRUE(more.ok());
      if (!more.ok() || !*more) break;
      EXPECT_EQ(c.index, index++);
      out.emplace_back(c.first_line, c.lines, c.text);
    }
    EXPECT_EQ((*reader)->bytes_read(), static_cast<int64_t>(fs::file_size(p)));
    return out;
  }

  fs::path dir_;
};

TEST_F(ChunkReaderTest, ChunksOfWholeLinesWhateverTheReadSize) {
  const std::string text = "a,1\nbb,22\nccc,333\ndddd,4444\ne,5";
  fs::path p = Write(text);
  for (size_t read_bytes : {1, 2, 3, 7, 64, 1 << 20}) {
    auto chunks = ReadAll(p, 2, read_bytes);
    ASSERT_EQ(chunks.size(), 3u) << read_bytes;
    EXPECT_EQ(chunks[0], std::make_tuple(1, 2, std::string("a,1\nbb,22\n")));
    EXPECT_EQ(chunks[1], std::make_tuple(3, 2, std::string("ccc,333\ndddd,4444\n")));
    EXPECT_EQ(chunks[2], std::make_tuple(5, 1, std::string("e,5")));
  }
}

TEST_F(ChunkReaderTest, PeekAndSkipTheHeaderDroppingAByteOrderMark) {
  fs::path p = Write(
      "\xEF\xBB\xBF"
      "f0,f1\r\n1,2\n3,4\n");
  auto reader = ChunkReader::Open({.path = p, .read_bytes = 4});
  ASSERT_TRUE(reader.ok());
  auto line = (*reader)->PeekLine();
  ASSERT_TRUE(line.ok());
  ASSERT_TRUE(line->has_value());
  EXPECT_EQ(**line, "f0,f1");
  (*reader)->SkipLine();
  Chunk c;
  auto more = (*reader)->Next(10, &c);
  ASSERT_TRUE(more.ok() && *more);
  EXPECT_EQ(c.first_line, 2);
  EXPECT_EQ(c.lines, 2);
  EXPECT_EQ(c.text, "1,2\n3,4\n");
  more = (*reader)->Next(10, &c);
  ASSERT_TRUE(more.ok());
  EXPECT_FALSE(*more);
  EXPECT_EQ((*reader)->bytes_read(), static_cast<int64_t>(fs::file_size(p)));
}

TEST_F(ChunkReaderTest, ByteOrderMarkWithoutPeek) {
  auto chunks = ReadAll(Write("\xEF\xBB\xBF"
                              "1,2\n"),
                        5, 2);
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(std::get<2>(chunks[0]), "1,2\n");
}

TEST_F(ChunkReaderTest, EmptyFile) {
  fs::path p = Write("");
  auto reader = ChunkReader::Open({.path = p});
  ASSERT_TRUE(reader.ok());
  auto line = (*reader)->PeekLine();
  ASSERT_TRUE(line.ok());
  EXPECT_FALSE(line->has_value());
  Chunk c;
  auto more = (*reader)->Next(3, &c);
  ASSERT_TRUE(more.ok());
  EXPECT_FALSE(*more);
  EXPECT_EQ((*reader)->file_size(), 0);
}

TEST_F(ChunkReaderTest, LongLineIsAnError) {
  fs::path p = Write("1,2\n" + std::string(100, '7') + "\n");
  auto reader = ChunkReader::Open({.path = p, .read_bytes = 8, .max_line_bytes = 50});
  ASSERT_TRUE(reader.ok());
  Chunk c;
  auto more = (*reader)->Next(5, &c);
  ASSERT_FALSE(more.ok());
  EXPECT_EQ(more.status().message(), "line 2 is longer than 50 bytes");
}

TEST_F(ChunkReaderTest, MissingFileAndDirectory) {
  auto r = ChunkReader::Open({.path = dir_ / "nope.csv"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), base::StatusCode::kNotFound);
  EXPECT_THAT(r.status().message(), HasSubstr("nope.csv does not exist"));
  r = ChunkReader::Open({.path = dir_});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("is a directory"));
}

}  // namespace
}  // namespace inferd::tools
