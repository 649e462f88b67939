/* Tongxin: a photo is made smaller on the phone before it is sent (a slow link, and a body
   limit on the server), and re-drawing it leaves its location metadata behind. */
(function () {
  "use strict";
  var MAX_SIDE = 1600, QUALITY = 0.82;
  var input = document.querySelector("input[type=file][data-shrink-above]");
  if (!input || !window.DataTransfer || !window.URL || !HTMLCanvasElement.prototype.toBlob) { return; }
  var above = parseInt(input.getAttribute("data-shrink-above"), 10);
  var button = input.form && input.form.querySelector("button[type=submit]");

  input.addEventListener("change", function () {
    var file = input.files && input.files[0];
    if (!file || !/^image\//.test(file.type) || file.size <= above) { return; }
    var url = URL.createObjectURL(file), img = new Image();
    if (button) { button.disabled = true; }
    function done() { URL.revokeObjectURL(url); if (button) { button.disabled = false; } }
    img.onerror = done;
    img.onload = function () {
      var scale = Math.min(1, MAX_SIDE / Math.max(img.naturalWidth, img.naturalHeight));
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(img.naturalWidth * scale);
      canvas.height = Math.round(img.naturalHeight * scale);
      canvas.getContext("2d").drawImage(img, 0, 0, canvas.width, canvas.height);
      canvas.toBlob(function (blob) {
        if (blob) {
          var smaller = new DataTransfer();
          smaller.items.add(new File([blob], (file.name.replace(/\.[^.]*$/, "") || "photo") + ".jpg",
                                     {type: "image/jpeg"}));
          input.files = smaller.files;
        }
        done();
      }, "image/jpeg", QUALITY);
    };
    img.src = url;
  });
})();
