/* test_autoparse.c - weft's `auto` metrics recogniser on real sample lines
 * of each format it claims (Keras old and new, Caffe glog, PyTorch and
 * Horovod example prints, Katib name=value), asserting exact names, values,
 * group, epoch and iteration; and on lines that must not yield metrics
 * (free text, stack traces, pip, URLs, escapes, binary garbage). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tds/autoparse.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

static struct ap_result r;

static int parse(const char *s) { return ap_parse_line(s, strlen(s), &r); }

/* the value of metric name, failing the test if absent or repeated */
static double metric(const char *name)
{
	int found = -1;
	for (int i = 0; i < r.n; i++)
		if (strcmp(r.m[i].name, name) == 0) {
			if (found >= 0)
				fail_msg("metric %s twice", name);
			found = i;
		}
	if (found < 0)
		fail_msg("metric %s missing (n=%d, first=%s)", name, r.n, r.n ? r.m[0].name : "");
	return r.m[found].value;
}

#define EQ(name, v) assert_true(fabs(metric(name) - (v)) < 1e-12)
#define NAME(i, s) assert_string_equal(r.m[i].name, s)

/* --- Keras / TensorFlow ------------------------------------------------- */

static void keras_epoch_header(void **st)
{
	(void)st;
	assert_int_equal(parse("Epoch 3/10"), 0);
	assert_int_equal(r.epoch, 3);
	assert_int_equal(r.iteration, -1);
}

static void keras_tf2_summary(void **st)
{
	(void)st;
	assert_int_equal(parse("1875/1875 [==============================] - 5s 3ms/step - loss: 0.1234 - "
			       "accuracy: 0.9688 - val_loss: 0.0912 - val_accuracy: 0.9721"),
			 4);
	NAME(0, "loss");
	NAME(1, "accuracy");
	NAME(2, "val_loss");
	NAME(3, "val_accuracy");
	EQ("loss", 0.1234);
	EQ("accuracy", 0.9688);
	EQ("val_loss", 0.0912);
	EQ("val_accuracy", 0.9721);
	assert_string_equal(r.group, "train");
	assert_int_equal(r.iteration, 1875);
	assert_int_equal(r.epoch, -1);
}

static void keras_old_sample(void **st)
{
	(void)st;
	assert_int_equal(parse("60000/60000 [==============================] - 5s 83us/sample - loss: 0.2 - acc: 0.94"), 2);
	EQ("loss", 0.2);
	EQ("acc", 0.94);
	assert_int_equal(r.iteration, 60000);
}

static void keras_progress_eta(void **st)
{
	(void)st;
	assert_int_equal(parse("  32/1875 [..............................] - ETA: 1:23 - loss: 2.3026 - accuracy: 0.0938"), 2);
	EQ("loss", 2.3026);
	EQ("accuracy", 0.0938);
	assert_int_equal(r.iteration, 32);
}

static void keras_progress_redraws(void **st)
{
	(void)st;
	/* what a non-tty Keras writes: many redraws on one line */
	const char *l = "  1/938 [..] - ETA: 0s - loss: 2.4\r 64/938 [>.] - ETA: 0s - loss: 1.5\r938/938 [==] - 2s 2ms/step - loss: 0.3012\r";
	assert_int_equal(parse(l), 1);
	EQ("loss", 0.3012);
	assert_int_equal(r.iteration, 938);
}

static void keras3_unicode_bar(void **st)
{
	(void)st;
	assert_int_equal(parse("1875/1875 \xe2\x94\x81\xe2\x94\x81\xe2\x94\x81 3s 1ms/step - accuracy: 0.8765 - loss: 0.4311\n"), 2);
	EQ("accuracy", 0.8765);
	EQ("loss", 0.4311);
}

static void keras_verbose2(void **st)
{
	(void)st;
	assert_int_equal(parse(" - 5s - loss: 0.2955 - acc: 0.9148 - val_loss: 0.1438 - val_acc: 0.9572"), 4);
	EQ("val_acc", 0.9572);
	assert_int_equal(parse("1875/1875 - 3s - loss: 0.2946 - accuracy: 0.9146 - 3s/epoch - 2ms/step"), 2);
	EQ("accuracy", 0.9146);
}

static void keras_scientific_and_nan(void **st)
{
	(void)st;
	assert_int_equal(parse("100/100 [==] - 1s 5ms/step - loss: nan - lr: 1.0000e-04 - mae: 1.5E+03"), 2);
	EQ("lr", 1e-4);
	EQ("mae", 1500);
}

static void keras_evaluate(void **st)
{
	(void)st;
	assert_int_equal(parse("313/313 [==============================] - 1s 2ms/step - loss: 0.0735 - accuracy: 0.9772"), 2);
	EQ("accuracy", 0.9772);
	assert_int_equal(r.iteration, 313);
}

/* --- Caffe glog --------------------------------------------------------- */

static void caffe_iteration_loss(void **st)
{
	(void)st;
	assert_int_equal(parse("I0412 10:15:02.123456  1234 solver.cpp:218] Iteration 100 (2.5 iter/s, 40s/100 iters), loss = 0.3456"), 1);
	NAME(0, "loss");
	EQ("loss", 0.3456);
	assert_int_equal(r.iteration, 100);
	assert_string_equal(r.group, "train");
}

static void caffe_train_output(void **st)
{
	(void)st;
	assert_int_equal(parse("I0412 10:15:02.123456  1234 solver.cpp:237]     Train net output #0: loss = 0.3456 (* 1 = 0.3456 loss)"), 1);
	EQ("loss", 0.3456);
	assert_string_equal(r.group, "train");
}

static void caffe_testing_net(void **st)
{
	(void)st;
	assert_int_equal(parse("I0412 10:16:02.000001  1234 solver.cpp:330] Iteration 500, Testing net (#0)"), 0);
	assert_int_equal(r.iteration, 500);
}

static void caffe_test_output(void **st)
{
	(void)st;
	assert_int_equal(parse("I0412 10:16:03.554433  1234 solver.cpp:397]     Test net output #0: accuracy = 0.9812"), 1);
	EQ("accuracy", 0.9812);
	assert_string_equal(r.group, "test");
	assert_int_equal(parse("I0412 10:16:03.554501  1234 solver.cpp:397]     Test net output #1: loss = 0.0567 (* 1 = 0.0567 loss)"), 1);
	EQ("loss", 0.0567);
	assert_string_equal(r.group, "test");
}

static void caffe_lr(void **st)
{
	(void)st;
	assert_int_equal(parse("I0412 10:15:02.123999  1234 sgd_solver.cpp:105] Iteration 100, lr = 0.01"), 1);
	EQ("lr", 0.01);
	assert_int_equal(r.iteration, 100);
	assert_int_equal(parse("Iteration 100, lr = 0.01"), 1); /* without the glog prefix */
	EQ("lr", 0.01);
	assert_int_equal(r.iteration, 100);
}

static void caffe_other_glog(void **st)
{
	(void)st;
	assert_int_equal(parse("I0412 10:15:00.000100  1234 net.cpp:84] Creating Layer conv1"), 0);
	assert_int_equal(parse("I0412 10:15:00.000200  1234 net.cpp:122] Top shape: 64 20 24 24 (737280)"), 0);
	assert_int_equal(parse("I0412 10:15:00.000300  1234 net.cpp:137] Memory required for data: 5169920"), 0);
}

/* --- PyTorch / Horovod -------------------------------------------------- */

static void pytorch_train_epoch(void **st)
{
	(void)st;
	assert_int_equal(parse("Train Epoch: 3 [12800/60000 (21%)]\tLoss: 0.123456"), 1);
	NAME(0, "loss");
	EQ("loss", 0.123456);
	assert_int_equal(r.epoch, 3);
	assert_int_equal(r.iteration, -1);
}

static void pytorch_test_set(void **st)
{
	(void)st;
	assert_int_equal(parse("Test set: Average loss: 0.0345, Accuracy: 9890/10000 (99%)"), 2);
	EQ("loss", 0.0345);
	EQ("accuracy", 0.989);
	assert_string_equal(r.group, "test");
}

static void pytorch_cifar_tutorial(void **st)
{
	(void)st;
	assert_int_equal(parse("[1,  2000] loss: 2.187"), 1);
	EQ("loss", 2.187);
	assert_int_equal(r.epoch, 1);
	assert_int_equal(r.iteration, 2000);
}

static void horovod_tagged(void **st)
{
	(void)st;
	assert_int_equal(parse("[1,0]<stdout>:Train Epoch: 2 [640/60000 (1%)]\tLoss: 2.250000"), 1);
	EQ("loss", 2.25);
	assert_int_equal(r.epoch, 2);
	assert_int_equal(parse("[1,0]<stdout>:step=100 loss=0.5"), 1);
	assert_int_equal(r.iteration, 100);
}

/* --- name=value --------------------------------------------------------- */

static void pairs_digits_c(void **st)
{
	(void)st;
	assert_int_equal(parse("epoch 3/20 loss=0.2345 accuracy=0.9412 val_loss=0.2601 val_accuracy=0.9361"), 4);
	NAME(0, "loss");
	NAME(3, "val_accuracy");
	EQ("loss", 0.2345);
	EQ("accuracy", 0.9412);
	EQ("val_loss", 0.2601);
	EQ("val_accuracy", 0.9361);
	assert_int_equal(r.epoch, 3);
	assert_string_equal(r.group, "train");
}

static void pairs_step(void **st)
{
	(void)st;
	assert_int_equal(parse("step=100 loss=0.5"), 1);
	EQ("loss", 0.5);
	assert_int_equal(r.iteration, 100);
	assert_int_equal(parse("accuracy=0.9"), 1);
	EQ("accuracy", 0.9);
	assert_int_equal(r.iteration, -1);
	assert_int_equal(r.epoch, -1);
}

static void pairs_scientific(void **st)
{
	(void)st;
	assert_int_equal(parse("lr=1e-4 loss=1.5E+03, grad_norm=-2.5e-1; train/top-1=.75 MAE=2"), 5);
	EQ("MAE", 2);
	EQ("lr", 1e-4);
	EQ("loss", 1500);
	EQ("grad_norm", -0.25);
	EQ("train/top-1", 0.75);
}

static void pairs_nan_inf(void **st)
{
	(void)st;
	assert_int_equal(parse("loss=nan accuracy=inf x=1e999 ok=1"), 1);
	EQ("ok", 1);
}

static void pairs_epoch_key(void **st)
{
	(void)st;
	assert_int_equal(parse("epoch=7 iteration=1200 loss=0.01"), 1);
	assert_int_equal(r.epoch, 7);
	assert_int_equal(r.iteration, 1200);
}

static void pairs_ansi(void **st)
{
	(void)st;
	assert_int_equal(parse("\x1b[32mloss=0.5\x1b[0m accuracy=0.75"), 2);
	EQ("loss", 0.5);
	EQ("accuracy", 0.75);
}

static void glog_with_pairs(void **st)
{
	(void)st;
	assert_int_equal(parse("I0412 10:15:02.123456  1234 train.py:55] step=300 loss=0.125"), 1);
	EQ("loss", 0.125);
	assert_int_equal(r.iteration, 300);
}

static void limits(void **st)
{
	(void)st;
	char buf[4096];
	size_t n = 0;
	for (int i = 0; i < 40; i++)
		n += (size_t)snprintf(buf + n, sizeof buf - n, "m%d=%d ", i, i);
	assert_int_equal(ap_parse_line(buf, n, &r), 32);
	EQ("m31", 31);
	char longname[200];
	memset(longname, 'a', 70);
	strcpy(longname + 70, "=1 b=2");
	assert_int_equal(parse(longname), 1);
	EQ("b", 2);
	longname[63] = '='; /* name of exactly 63 bytes fits */
	memcpy(longname + 64, "3", 2);
	assert_int_equal(parse(longname), 1);
	assert_int_equal(strlen(r.m[0].name), 63);
}

static void not_nul_terminated(void **st)
{
	(void)st;
	/* len ends inside the number: only the bytes given count */
	const char l[] = "loss=0.12345";
	assert_int_equal(ap_parse_line(l, 9, &r), 1);
	EQ("loss", 0.12);
	assert_int_equal(ap_parse_line(l, 5, &r), 0);
	assert_int_equal(ap_parse_line(l, 0, &r), 0);
	assert_int_equal(ap_parse_line(NULL, 0, &r), 0);
}

/* --- not metrics -------------------------------------------------------- */

static void not_metrics(void **st)
{
	(void)st;
	static const char *lines[] = {
		"Traceback (most recent call last):",
		"  File \"/app/train.py\", line 42, in <module>",
		"ValueError: invalid literal for int() with base 10: 'abc'",
		"    x = 5",
		"Collecting numpy==1.24.3",
		"Successfully installed numpy-1.24.3 torch-2.0.1",
		"Downloading: 100%",
		"time: 12:30",
		"loss of connection to parameter server, retrying",
		"accuracy is low",
		"GET https://example.com/data?a=1&b=2 200",
		"\x1b[31mERROR\x1b[0m something failed",
		"Namespace(batch_size=64)",
		"python train.py --lr=0.01 --epochs=10",
		"export CUDA_VISIBLE_DEVICES=0 OMP_NUM_THREADS=4",
		"Epoch 00003: val_loss improved from 0.09120 to 0.08000, saving model to /tmp/ckpt",
		"loss: 0.5",
		"",
		"   \r\r  ",
		"Downloading data from https://storage.googleapis.com/mnist.npz",
		"11490434/11490434 [==============================] - 0s 0us/step",
	};
	for (size_t i = 0; i < sizeof lines / sizeof *lines; i++) {
		if (parse(lines[i]) != 0)
			fail_msg("line %zu gave %d metrics (%s): %s", i, r.n, r.m[0].name, lines[i]);
	}
}

static void binary_garbage(void **st)
{
	(void)st;
	const char bin[] = "loss=0.5\x00\x01\x02\xff\xfe accuracy=0.9";
	assert_int_equal(ap_parse_line(bin, sizeof bin - 1, &r), 0);
	const unsigned char rnd[] = { 0x7f, 'E', 'L', 'F', 2, 1, 1, 0, '=', '1' };
	assert_int_equal(ap_parse_line((const char *)rnd, sizeof rnd, &r), 0);
	const char hi[] = "\xff\xfe=1 \xc3\xa9=2";
	assert_int_equal(ap_parse_line(hi, sizeof hi - 1, &r), 0);
}

static void result_reset(void **st)
{
	(void)st;
	assert_int_equal(parse("Test set: Average loss: 0.1, Accuracy: 1/2 (50%)"), 2);
	assert_int_equal(parse("hello"), 0);
	assert_string_equal(r.group, "train");
	assert_int_equal(r.epoch, -1);
	assert_int_equal(r.iteration, -1);
}


/* --- PyTorch ImageNet example, TensorFlow Estimator ----------------------- */

static void imagenet_train(void **st)
{
	(void)st;
	assert_int_equal(parse("Epoch: [3][  10/5005]\tTime  0.355 ( 0.420)\tData  0.001 ( 0.102)\t"
			       "Loss 6.9088e+00 (6.9137e+00)\tAcc@1   0.00 (  0.11)\tAcc@5   0.78 (  0.53)"),
			 5);
	assert_int_equal(r.epoch, 3);
	assert_int_equal(r.iteration, 3 * 5005 + 10); /* epochs count from 0 here */
	assert_int_equal(r.total, -1);
	assert_string_equal(r.group, "train");
	NAME(2, "loss");
	EQ("loss", 6.9088);
	EQ("acc@1", 0.0);
	EQ("acc@5", 0.78);
	EQ("time", 0.355);
	assert_string_equal(r.m[2].text, "6.9088e+00");
}

static void imagenet_test(void **st)
{
	(void)st;
	assert_int_equal(parse("Test: [ 10/196]\tTime  0.213 ( 0.368)\tLoss 7.0162e-01 (6.8845e-01)\t"
			       "Acc@1  81.25 ( 82.39)\tAcc@5  96.09 ( 95.03)"),
			 4);
	assert_string_equal(r.group, "test");
	assert_int_equal(r.iteration, 10);
	EQ("acc@1", 81.25);
	assert_int_equal(parse(" * Acc@1 76.130 Acc@5 92.862"), 2);
	assert_string_equal(r.group, "test");
	EQ("acc@1", 76.13);
	EQ("acc@5", 92.862);
}

static void tensorflow_estimator(void **st)
{
	(void)st;
	assert_int_equal(parse("INFO:tensorflow:loss = 0.52316, step = 100 (0.512 sec)"), 1);
	EQ("loss", 0.52316);
	assert_int_equal(r.iteration, 100);
	assert_int_equal(parse("INFO:tensorflow:global_step/sec: 195.3"), 1);
	EQ("global_step/sec", 195.3);
	assert_int_equal(parse("INFO:tensorflow:Saving dict for global step 1000: accuracy = 0.9137, "
			       "global_step = 1000, loss = 0.30177"),
			 2);
	assert_string_equal(r.group, "test");
	assert_int_equal(r.iteration, 1000);
	EQ("accuracy", 0.9137);
	EQ("loss", 0.30177);
	assert_int_equal(parse("INFO:tensorflow:Restoring parameters from /tmp/model.ckpt-1000"), 0);
}

static void step_prefix(void **st)
{
	(void)st;
	assert_int_equal(parse("Step 100: loss = 0.5"), 1);
	assert_int_equal(r.iteration, 100);
	EQ("loss", 0.5);
	assert_int_equal(parse("step 200, loss: 0.25, accuracy: 0.75"), 2);
	assert_int_equal(r.iteration, 200);
	EQ("accuracy", 0.75);
	assert_int_equal(parse("step 300: lr=0.01 loss=0.125"), 2);
	assert_int_equal(r.iteration, 300);
	EQ("lr", 0.01);
	assert_int_equal(parse("Step 4: starting the next phase"), 0);
	assert_int_equal(r.iteration, 4);
}

static void value_text(void **st)
{
	(void)st;
	assert_int_equal(parse("1/3 [=>...] - ETA: 0s - loss: 0.9000 - accuracy: 0.5000"), 2);
	assert_string_equal(r.m[0].text, "0.9000");
	assert_int_equal(parse("Test set: Average loss: 0.0331, Accuracy: 9890/10000 (99%)"), 2);
	assert_string_equal(r.m[0].text, "0.0331");
	assert_string_equal(r.m[1].text, ""); /* a computed ratio has no text */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(keras_epoch_header),
		cmocka_unit_test(keras_tf2_summary),
		cmocka_unit_test(keras_old_sample),
		cmocka_unit_test(keras_progress_eta),
		cmocka_unit_test(keras_progress_redraws),
		cmocka_unit_test(keras3_unicode_bar),
		cmocka_unit_test(keras_verbose2),
		cmocka_unit_test(keras_scientific_and_nan),
		cmocka_unit_test(keras_evaluate),
		cmocka_unit_test(caffe_iteration_loss),
		cmocka_unit_test(caffe_train_output),
		cmocka_unit_test(caffe_testing_net),
		cmocka_unit_test(caffe_test_output),
		cmocka_unit_test(caffe_lr),
		cmocka_unit_test(caffe_other_glog),
		cmocka_unit_test(pytorch_train_epoch),
		cmocka_unit_test(pytorch_test_set),
		cmocka_unit_test(pytorch_cifar_tutorial),
		cmocka_unit_test(horovod_tagged),
		cmocka_unit_test(imagenet_train),
		cmocka_unit_test(imagenet_test),
		cmocka_unit_test(tensorflow_estimator),
		cmocka_unit_test(step_prefix),
		cmocka_unit_test(value_text),
		cmocka_unit_test(pairs_digits_c),
		cmocka_unit_test(pairs_step),
		cmocka_unit_test(pairs_scientific),
		cmocka_unit_test(pairs_nan_inf),
		cmocka_unit_test(pairs_epoch_key),
		cmocka_unit_test(pairs_ansi),
		cmocka_unit_test(glog_with_pairs),
		cmocka_unit_test(limits),
		cmocka_unit_test(not_nul_terminated),
		cmocka_unit_test(not_metrics),
		cmocka_unit_test(binary_garbage),
		cmocka_unit_test(result_reset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
