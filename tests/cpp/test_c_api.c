/* C ABI round trip, compiled as C: create -> run -> stage times -> destroy, and error codes.
 * argv[1]: the tiny test ONNX. */
#include "rmnet/rmnet_c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int gFailures = 0;

#define EXPECT(cond)                                                                                                   \
    do                                                                                                                 \
    {                                                                                                                  \
        if (!(cond))                                                                                                   \
        {                                                                                                              \
            printf("  %s:%d: EXPECT(%s) failed; last error: %s\n", __FILE__, __LINE__, #cond, rmnet_last_error());   \
            ++gFailures;                                                                                               \
        }                                                                                                              \
    } while (0)

/* Buffer lengths and row arithmetic are checked before a byte is read or written. */
static void check_buffers(rmnet_inpainter* inp, rmnet_image const* image, rmnet_mask const* holes,
    rmnet_image const* result)
{
    rmnet_image img = *image, res = *result;
    rmnet_mask m = *holes;
    EXPECT(rmnet_inpainter_run(inp, &img, &m, &res) == RMNET_OK);

    m.data_size = (size_t) m.height * (size_t) m.width - 1; /* a short mask buffer */
    EXPECT(rmnet_inpainter_run(inp, &img, &m, &res) == RMNET_ERROR_INVALID_ARGUMENT);
    EXPECT(strstr(rmnet_last_error(), "too small") != NULL);
    m.data_size = 0; /* required */
    EXPECT(rmnet_inpainter_run(inp, &img, &m, &res) == RMNET_ERROR_INVALID_ARGUMENT);
    EXPECT(strstr(rmnet_last_error(), "data_size") != NULL);
    m = *holes;

    res.data_size = (size_t) (res.height - 1) * res.pitch + 3 * (size_t) res.width - 1; /* a byte short */
    EXPECT(rmnet_inpainter_run(inp, &img, &m, &res) == RMNET_ERROR_INVALID_ARGUMENT);
    res = *result;

    img.pitch = SIZE_MAX / 4; /* (height - 1) * pitch overflows */
    EXPECT(rmnet_inpainter_run(inp, &img, &m, &res) == RMNET_ERROR_INVALID_ARGUMENT);
    EXPECT(strstr(rmnet_last_error(), "overflow") != NULL);
    img = *image;
    img.height = INT32_MAX; /* a huge size on a small buffer */
    img.width = INT32_MAX / 3;
    res = img;
    m.height = img.height;
    m.width = img.width;
    EXPECT(rmnet_inpainter_run(inp, &img, &m, &res) == RMNET_ERROR_INVALID_ARGUMENT);
}

/* struct_size versions: garbage is refused; a larger (later) struct is stepped over in arrays. */
static void check_struct_versions(rmnet_inpainter* inp, rmnet_image const* image, rmnet_mask const* holes,
    rmnet_image const* result)
{
    typedef struct { rmnet_image base; uint64_t later_field; } image_v_next;
    typedef struct { rmnet_mask base; uint64_t later_field; } mask_v_next;
    enum { H = 61, W = 47, PITCH = 3 * W + 3 };
    static uint8_t out2[2][H * PITCH];
    image_v_next imgs[2], outs[2];
    mask_v_next masks[2];
    rmnet_image img = *image;
    int i;

    img.struct_size = 0;
    EXPECT(rmnet_inpainter_run(inp, &img, holes, result) == RMNET_ERROR_INVALID_ARGUMENT);
    EXPECT(strstr(rmnet_last_error(), "rmnet_image_init") != NULL);
    img.struct_size = 0x55d4a000u; /* what the low bits of an unversioned caller's data pointer look like */
    EXPECT(rmnet_inpainter_run(inp, &img, holes, result) == RMNET_ERROR_INVALID_ARGUMENT);

    for (i = 0; i < 2; ++i)
    {
        imgs[i].base = *image;
        imgs[i].base.struct_size = sizeof(image_v_next);
        imgs[i].later_field = 0xDEADBEEFu;
        masks[i].base = *holes;
        masks[i].base.struct_size = sizeof(mask_v_next);
        masks[i].later_field = 0xDEADBEEFu;
        outs[i].base = *result;
        outs[i].base.struct_size = sizeof(image_v_next);
        outs[i].base.data = out2[i];
        outs[i].base.data_size = sizeof(out2[i]);
    }
    EXPECT(rmnet_inpainter_run_batch(inp, &imgs[0].base, &masks[0].base, &outs[0].base, 2) == RMNET_OK);
    EXPECT(memcmp(out2[0], out2[1], sizeof(out2[0])) == 0);
    EXPECT(memcmp(out2[0], result->data, sizeof(out2[0])) == 0); /* same as the single run */
    masks[1].base.struct_size = sizeof(rmnet_mask); /* one array, two versions */
    EXPECT(rmnet_inpainter_run_batch(inp, &imgs[0].base, &masks[0].base, &outs[0].base, 2)
        == RMNET_ERROR_INVALID_ARGUMENT);
}

int main(int argc, char** argv)
{
    enum { H = 61, W = 47, PITCH = 3 * W + 3 };
    static uint8_t pixels[H * PITCH], out[H * PITCH], mask[H * W];
    rmnet_options opt;
    rmnet_inpainter* inp = NULL;
    rmnet_image image, result;
    rmnet_mask holes;
    rmnet_stage_times times;
    int i, known = 1, filled = 0;

    if (argc < 2)
    {
        printf("usage: test_c_api MODEL.onnx\n");
        return 2;
    }
    printf("rmnet %s\n", rmnet_version());

    /* errors */
    EXPECT(rmnet_inpainter_create(NULL, &inp) == RMNET_ERROR_INVALID_ARGUMENT);
    EXPECT(strlen(rmnet_last_error()) > 0);
    rmnet_options_init(&opt);
    EXPECT(rmnet_inpainter_create(&opt, NULL) == RMNET_ERROR_INVALID_ARGUMENT);
    opt.model_path = "/nonexistent/model.onnx";
    EXPECT(rmnet_inpainter_create(&opt, &inp) == RMNET_ERROR_MODEL_NOT_FOUND);
    EXPECT(inp == NULL);
    opt.struct_size = 4;
    EXPECT(rmnet_inpainter_create(&opt, &inp) == RMNET_ERROR_INVALID_ARGUMENT);
    EXPECT(strcmp(rmnet_status_string(RMNET_ERROR_CUDA), "RMNET_ERROR_CUDA") == 0);
    rmnet_inpainter_destroy(NULL);

    /* round trip */
    rmnet_options_init(&opt);
    opt.model_path = argv[1];
    EXPECT(rmnet_inpainter_create(&opt, &inp) == RMNET_OK);
    if (inp == NULL)
    {
        return 1;
    }
    for (i = 0; i < H * PITCH; ++i)
    {
        pixels[i] = (uint8_t) (i * 31 + 7);
    }
    memset(mask, 0, sizeof(mask));
    for (i = 10 * W; i < 20 * W; ++i)
    {
        mask[i] = (i % W) > 5 && (i % W) < 30 ? 1 : 0;
    }
    rmnet_image_init(&image);
    EXPECT(image.struct_size == sizeof(rmnet_image) && image.channels == 3 && image.data == NULL);
    image.data = pixels;
    image.data_size = sizeof(pixels);
    image.height = H;
    image.width = W;
    image.pitch = PITCH;
    result = image;
    result.data = out;
    rmnet_mask_init(&holes);
    EXPECT(holes.struct_size == sizeof(rmnet_mask));
    holes.data = mask;
    holes.data_size = sizeof(mask);
    holes.height = H;
    holes.width = W;
    EXPECT(rmnet_inpainter_run(inp, &image, &holes, &result) == RMNET_OK);
    for (i = 0; i < H * W; ++i)
    {
        int const y = i / W, x = i % W, c0 = y * PITCH + 3 * x;
        int const same = memcmp(pixels + c0, out + c0, 3) == 0;
        if (mask[i])
            filled += !same;
        else
            known = known && same;
    }
    EXPECT(known);
    EXPECT(filled > 0);
    EXPECT(rmnet_inpainter_stage_times(inp, &times) == RMNET_OK);
    EXPECT(times.infer_ms > 0.0);
    EXPECT(rmnet_inpainter_run_batch(inp, &image, &holes, &result, 1) == RMNET_OK);

    /* bad inputs on a live handle */
    image.channels = 1;
    EXPECT(rmnet_inpainter_run(inp, &image, &holes, &result) == RMNET_ERROR_INVALID_ARGUMENT);
    image.channels = 3;
    holes.width = W - 1;
    EXPECT(rmnet_inpainter_run(inp, &image, &holes, &result) == RMNET_ERROR_INVALID_ARGUMENT);
    holes.width = W;
    image.data = NULL;
    EXPECT(rmnet_inpainter_run(inp, &image, &holes, &result) == RMNET_ERROR_INVALID_ARGUMENT);
    EXPECT(rmnet_inpainter_run(inp, NULL, &holes, &result) == RMNET_ERROR_INVALID_ARGUMENT);
    EXPECT(rmnet_inpainter_run_batch(inp, &image, &holes, &result, 0) == RMNET_ERROR_INVALID_ARGUMENT);
    image.data = pixels;

    check_buffers(inp, &image, &holes, &result);
    check_struct_versions(inp, &image, &holes, &result);

    rmnet_inpainter_destroy(inp);
    printf("%s (%d failed checks)\n", gFailures ? "FAILED" : "OK", gFailures);
    return gFailures ? 1 : 0;
}
