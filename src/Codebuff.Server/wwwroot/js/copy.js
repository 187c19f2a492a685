// Copy buttons: <button data-copy="element-id"> copies that input's value (or element's text). Everything else works
// without this file; it is one delegated listener, so it also covers content swapped in by enhanced navigation.
document.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-copy]");
    if (!button) return;
    const source = document.getElementById(button.dataset.copy);
    if (!source) return;
    const text = "value" in source ? source.value : source.textContent;
    const label = button.dataset.label || (button.dataset.label = button.textContent);
    setTimeout(() => { button.textContent = label; }, 2000);
    try {
        await navigator.clipboard.writeText(text);
        button.textContent = "Copied";
    } catch {
        // No clipboard access (an insecure origin): select the text so the user can copy it by hand.
        if (source.select) source.select();
        button.textContent = "Press Ctrl+C";
    }
});
