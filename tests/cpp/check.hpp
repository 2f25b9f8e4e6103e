//! \file check.hpp
//! \brief A tiny test harness (no framework to download): TEST(name) { CHECK(cond); }.
#pragma once

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace rmnet_test {

struct Registry
{
    std::vector<std::pair<std::string, std::function<void()>>> tests;
    int failures = 0;
    static Registry& get()
    {
        static Registry r;
        return r;
    }
};

struct Register
{
    Register(char const* name, std::function<void()> fn)
    {
        Registry::get().tests.emplace_back(name, std::move(fn));
    }
};

inline int runAll()
{
    Registry& r = Registry::get();
    for (auto const& t : r.tests)
    {
        int const before = r.failures;
        t.second();
        std::printf("%s %s\n", r.failures == before ? "[ OK ]" : "[FAIL]", t.first.c_str());
    }
    std::printf("%zu tests, %d failed checks\n", r.tests.size(), r.failures);
    return r.failures == 0 ? 0 : 1;
}

} // namespace rmnet_test

#define RMNET_CAT2(a, b) a##b
#define RMNET_CAT(a, b) RMNET_CAT2(a, b)
#define TEST(name)                                                                                                     \
    static void name();                                                                                                \
    static rmnet_test::Register RMNET_CAT(sReg_, name)(#name, name);                                                   \
    static void name()

#define CHECK(cond)                                                                                                    \
    do                                                                                                                 \
    {                                                                                                                  \
        if (!(cond))                                                                                                   \
        {                                                                                                              \
            std::printf("  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);                                     \
            ++rmnet_test::Registry::get().failures;                                                                    \
        }                                                                                                              \
    } while (0)

//! Checks that \p stmt throws rmnet::Error with code \p expected.
#define CHECK_THROWS_CODE(stmt, expected)                                                                              \
    do                                                                                                                 \
    {                                                                                                                  \
        bool thrown_ = false;                                                                                          \
        try                                                                                                            \
        {                                                                                                              \
            stmt;                                                                                                      \
        }                                                                                                              \
        catch (rmnet::Error const& e_)                                                                                 \
        {                                                                                                              \
            thrown_ = true;                                                                                            \
            if (e_.code() != (expected))                                                                               \
            {                                                                                                          \
                std::printf("  %s:%d: %s threw code %d (%s)\n", __FILE__, __LINE__, #stmt,                             \
                    static_cast<int>(e_.code()), e_.what());                                                           \
                ++rmnet_test::Registry::get().failures;                                                                \
            }                                                                                                          \
        }                                                                                                              \
        if (!thrown_)                                                                                                  \
        {                                                                                                              \
            std::printf("  %s:%d: %s did not throw\n", __FILE__, __LINE__, #stmt);                                     \
            ++rmnet_test::Registry::get().failures;                                                                    \
        }                                                                                                              \
    } while (0)

#define TEST_MAIN()                                                                                                    \
    int main()                                                                                                         \
    {                                                                                                                  \
        return rmnet_test::runAll();                                                                                   \
    }
