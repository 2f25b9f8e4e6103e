//! \file json.cpp
//! \brief Recursive-descent JSON parser (RFC 8259), depth-limited so hostile input cannot overflow.
#include "json.hpp"

#include <cstdlib>
#include <stdexcept>

namespace rmnet {
namespace detail {
namespace {

constexpr int kMAX_DEPTH = 64;

class Parser
{
public:
    explicit Parser(std::string const& text)
        : mText(text)
    {
    }

    JsonValue document()
    {
        JsonValue v = value(0);
        skipSpace();
        if (mPos != mText.size())
        {
            fail("trailing characters");
        }
        return v;
    }

private:
    [[noreturn]] void fail(char const* what) const
    {
        throw std::runtime_error(std::string("json: ") + what + " at offset " + std::to_string(mPos));
    }

    void skipSpace()
    {
        while (mPos < mText.size()
            && (mText[mPos] == ' ' || mText[mPos] == '\t' || mText[mPos] == '\n' || mText[mPos] == '\r'))
        {
            ++mPos;
        }
    }

    bool consume(char c)
    {
        skipSpace();
        if (mPos < mText.size() && mText[mPos] == c)
        {
            ++mPos;
            return true;
        }
        return false;
    }

    void expectWord(char const* word)
    {
        for (char const* w = word; *w != '\0'; ++w, ++mPos)
        {
            if (mPos >= mText.size() || mText[mPos] != *w)
            {
                fail("invalid literal");
            }
        }
    }

    JsonValue value(int depth)
    {
        if (depth > kMAX_DEPTH)
        {
            fail("nesting too deep");
        }
        skipSpace();
        if (mPos >= mText.size())
        {
            fail("unexpected end");
        }
        JsonValue v;
        char const c = mText[mPos];
        if (c == '{')
        {
            ++mPos;
            v.type = JsonValue::Type::kOBJECT;
            if (consume('}'))
            {
                return v;
            }
            do
            {
                skipSpace();
                std::string key = str();
                if (!consume(':'))
                {
                    fail("expected ':'");
                }
                v.object.emplace_back(std::move(key), value(depth + 1));
            } while (consume(','));
            if (!consume('}'))
            {
                fail("expected '}'");
            }
        }
        else if (c == '[')
        {
            ++mPos;
            v.type = JsonValue::Type::kARRAY;
            if (consume(']'))
            {
                return v;
            }
            do
            {
                v.array.push_back(value(depth + 1));
            } while (consume(','));
            if (!consume(']'))
            {
                fail("expected ']'");
            }
        }
        else if (c == '"')
        {
            v.type = JsonValue::Type::kSTRING;
            v.string = str();
        }
        else if (c == 't' || c == 'f')
        {
            v.type = JsonValue::Type::kBOOL;
            v.boolean = c == 't';
            expectWord(v.boolean ? "true" : "false");
        }
        else if (c == 'n')
        {
            expectWord("null");
        }
        else
        {
            v.type = JsonValue::Type::kNUMBER;
            v.number = num();
        }
        return v;
    }

    double num()
    {
        size_t const start = mPos;
        while (mPos < mText.size() && std::string("+-0123456789.eE").find(mText[mPos]) != std::string::npos)
        {
            ++mPos;
        }
        std::string const token = mText.substr(start, mPos - start);
        char* end = nullptr;
        double const d = std::strtod(token.c_str(), &end);
        if (token.empty() || end != token.c_str() + token.size())
        {
            mPos = start;
            fail("invalid number");
        }
        return d;
    }

    std::string str()
    {
        if (mPos >= mText.size() || mText[mPos] != '"')
        {
            fail("expected string");
        }
        ++mPos;
        std::string out;
        while (mPos < mText.size() && mText[mPos] != '"')
        {
            char c = mText[mPos++];
            if (c == '\\')
            {
                if (mPos >= mText.size())
                {
                    fail("unterminated escape");
                }
                c = mText[mPos++];
                switch (c)
                {
                case 'n': c = '\n'; break;
                case 't': c = '\t'; break;
                case 'r': c = '\r'; break;
                case 'b': c = '\b'; break;
                case 'f': c = '\f'; break;
                case 'u': out += unicode(); continue;
                case '"':
                case '\\':
                case '/': break;
                default: fail("invalid escape");
                }
            }
            out += c;
        }
        if (mPos >= mText.size())
        {
            fail("unterminated string");
        }
        ++mPos;
        return out;
    }

    //! \uXXXX (BMP only; surrogate pairs are not needed for sidecars) -> UTF-8.
    std::string unicode()
    {
        if (mPos + 4 > mText.size())
        {
            fail("short \\u escape");
        }
        char* end = nullptr;
        std::string const hex = mText.substr(mPos, 4);
        unsigned long const cp = std::strtoul(hex.c_str(), &end, 16);
        if (end != hex.c_str() + 4)
        {
            fail("invalid \\u escape");
        }
        mPos += 4;
        std::string s;
        if (cp < 0x80)
        {
            s += static_cast<char>(cp);
        }
        else if (cp < 0x800)
        {
            s += static_cast<char>(0xc0 | (cp >> 6));
            s += static_cast<char>(0x80 | (cp & 0x3f));
        }
        else
        {
            s += static_cast<char>(0xe0 | (cp >> 12));
            s += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
            s += static_cast<char>(0x80 | (cp & 0x3f));
        }
        return s;
    }

    std::string const& mText;
    size_t mPos = 0;
};

} // namespace

JsonValue const* JsonValue::find(std::string const& key) const
{
    for (auto const& kv : object)
    {
        if (kv.first == key)
        {
            return &kv.second;
        }
    }
    return nullptr;
}

JsonValue parseJson(std::string const& text)
{
    return Parser(text).document();
}

} // namespace detail
} // namespace rmnet
