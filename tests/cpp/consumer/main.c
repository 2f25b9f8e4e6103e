/* Links against an installed librmnet through its C ABI; exit 0 when the expected error comes back. */
#include <rmnet/rmnet_c.h>

#include <stdio.h>

int main(void)
{
    rmnet_options opt;
    rmnet_inpainter* inp = NULL;
    rmnet_status status;
    rmnet_options_init(&opt);
    opt.model_path = "no-such-model.onnx";
    status = rmnet_inpainter_create(&opt, &inp);
    printf("rmnet %s: %s (%s)\n", rmnet_version(), rmnet_status_string(status), rmnet_last_error());
    return status == RMNET_ERROR_MODEL_NOT_FOUND ? 0 : 1;
}
