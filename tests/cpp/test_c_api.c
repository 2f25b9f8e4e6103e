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
    image.data = pixels;
    image.height = H;
    image.width = W;
    image.channels = 3;
    image.pitch = PITCH;
    image.format = RMNET_PIXEL_RGB;
    result = image;
    result.data = out;
    holes.data = mask;
    holes.height = H;
    holes.width = W;
    holes.pitch = 0;
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

    rmnet_inpainter_destroy(inp);
    printf("%s (%d failed checks)\n", gFailures ? "FAILED" : "OK", gFailures);
    return gFailures ? 1 : 0;
}
